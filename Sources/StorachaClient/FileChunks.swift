import AsyncHTTPClient
import Crypto
import Foundation
import Multiformats
import NIOCore
import SystemIO

/// The bytes of a file as an async sequence of 1 MiB buffers, each read on the blocking-I/O pool:
/// a PUT of a shard streams from disk and holds one piece in memory at a time.
struct FileChunks: AsyncSequence, Sendable {
    typealias Element = ByteBuffer

    let url: URL
    var chunkSize = 1 << 20

    struct Iterator: AsyncIteratorProtocol {
        let url: URL
        let chunkSize: Int
        var offset: UInt64 = 0
        var done = false

        mutating func next() async throws -> ByteBuffer? {
            guard !done else { return nil }
            let (url, offset, size) = (self.url, self.offset, chunkSize)
            let data = try await BlockingIO.run { () throws -> Data in
                let handle = try FileHandle(forReadingFrom: url)
                defer { try? handle.close() }
                try handle.seek(toOffset: offset)
                return try handle.read(upToCount: size) ?? Data()
            }
            if data.isEmpty {
                done = true
                return nil
            }
            self.offset += UInt64(data.count)
            return ByteBuffer(bytes: data)
        }
    }

    func makeAsyncIterator() -> Iterator { Iterator(url: url, chunkSize: chunkSize) }
}

/// A blob to store: bytes in memory, or a file read as a stream.
public enum BlobContent: Sendable {
    /// Bytes already in memory (small blobs: indexes, tests).
    case data(Data)
    /// A file on disk, streamed.
    case file(URL)
    /// A file whose SHA-256 and size are already known (a shard the packer just wrote and hashed), so
    /// it is read once, for the PUT; the service checks the bytes against the digest anyway.
    case hashedFile(URL, digest: Multihash, size: UInt64)

    /// The SHA-256 multihash and size, computed by streaming (on the blocking-I/O pool for a file).
    func digest() async throws -> (digest: Multihash, size: UInt64) {
        switch self {
        case .data(let d): return (Multihash.sha256(d), UInt64(d.count))
        case .hashedFile(_, let digest, let size): return (digest, size)
        case .file(let url):
            return try await BlockingIO.run {
                let handle = try FileHandle(forReadingFrom: url)
                defer { try? handle.close() }
                var hasher = SHA256()
                var size: UInt64 = 0
                while let chunk = try handle.read(upToCount: 1 << 20), !chunk.isEmpty {
                    hasher.update(data: chunk)
                    size += UInt64(chunk.count)
                }
                return (Multihash(code: Multihash.sha256Code, digest: Array(hasher.finalize())), size)
            }
        }
    }

    /// The request body for a PUT of `size` bytes.
    func body(size: UInt64) -> HTTPClientRequest.Body {
        switch self {
        case .data(let d): return .bytes(ByteBuffer(bytes: d))
        case .file(let url), .hashedFile(let url, _, _): return .stream(FileChunks(url: url), length: .known(Int64(clamping: size)))
        }
    }
}
