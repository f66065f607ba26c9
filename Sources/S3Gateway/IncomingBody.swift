import Crypto
import Foundation
import S3Protocol
import SystemIO

/// A request body as received: small ones kept in memory (they go into the index with their row, one
/// transaction for both), larger ones written to a file and fsynced.
enum IncomingBody: Sendable {
    /// A body of at most ``IncomingBody/inlineLimit`` bytes.
    case inline(Data)
    /// A body in this fsynced file (or, for a multipart object, a directory of fsynced parts).
    case file(URL)

    /// Bodies up to this size are kept in the index rather than in files of their own: an object of a few
    /// kilobytes then costs no file creation, and concurrent ones share one fsync.
    static let inlineLimit = 64 << 10

    /// Receives `body` into the new file `url`, fsynced; returns its size.
    static func receive(_ body: S3UploadBody, into url: URL) async throws -> UInt64 {
        try await write(body, into: { url }, md5: false, inlineLimit: nil).size
    }

    /// Receives `body` in memory when it ends within ``inlineLimit`` bytes, else into a new file in `directory`
    /// (named only then: a small body costs no path), fsynced; a file it made is removed again when it fails.
    static func receive(_ body: S3UploadBody, in directory: URL) async throws -> (body: IncomingBody, size: UInt64) {
        let made = Locked<URL?>(nil)
        do {
            let received = try await write(body, into: {
                made.update { url in
                    let name = url ?? directory.appendingPathComponent(UniqueName.make())
                    url = name
                    return name
                }
            }, md5: false, inlineLimit: inlineLimit)
            if let inline = received.inline { return (.inline(inline), received.size) }
            guard let url = made.value else { throw S3Error("InternalError", status: 500, "a received body has no file") }
            return (.file(url), received.size)
        } catch {
            if let url = made.value { try? FileManager.default.removeItem(at: url) }
            throw error
        }
    }

    /// Receives a byte stream into the new file `url`, fsynced; returns its size and MD5.
    static func receive(_ bytes: S3ByteStream, into url: URL) async throws -> (size: UInt64, md5: [UInt8]) {
        let received = try await write(bytes, into: { url }, md5: true, inlineLimit: nil)
        return (received.size, received.md5 ?? [])
    }

    /// Writes `bytes` to `url()` (asked for when the file is made) in 1 MiB pieces on the blocking-I/O pool, past the
    /// page cache where the system allows (``UncachedFileWriter``), and fsyncs it, unless the whole stream fits in
    /// `inlineLimit` bytes (when given): then no file is made and the bytes are returned. One piece is written while
    /// the next is received and hashed, so that a single stream keeps the network, the hashing and the disk busy at once.
    static func write<Bytes: AsyncSequence>(_ bytes: Bytes, into url: @escaping @Sendable () -> URL, md5 hashing: Bool,
                                            inlineLimit: Int?) async throws -> (size: UInt64, md5: [UInt8]?, inline: Data?)
        where Bytes.Element == [UInt8] {
        let file = Locked<UncachedFileWriter?>(nil)
        // Created on the first full piece, so that a small body costs one trip to the blocking pool in all.
        @Sendable func append(_ chunks: [[UInt8]]) throws {
            let writer = try file.value ?? UncachedFileWriter(creating: url(), permissions: 0o600)
            file.value = writer
            for chunk in chunks where !chunk.isEmpty { try writer.write(chunk) }
        }
        var md5 = hashing ? Insecure.MD5() : nil
        var pending: [[UInt8]] = []
        var pendingBytes = 0
        var size: UInt64 = 0
        var writing: Task<Void, Error>?
        do {
            for try await chunk in bytes {
                pending.append(chunk)
                pendingBytes += chunk.count
                md5?.update(data: chunk)
                size += UInt64(chunk.count)
                if pendingBytes >= 1 << 20 {
                    let piece = pending
                    (pending, pendingBytes) = ([], 0)
                    try await writing?.value
                    writing = Task { try await BlockingIO.run { try append(piece) } }
                }
            }
            try await writing?.value
        } catch {
            // No write may still be running once the caller removes the file.
            _ = try? await writing?.value
            throw error
        }
        let digest = md5.map { Array($0.finalize()) }
        if file.value == nil, let inlineLimit, size <= UInt64(inlineLimit) {
            return (size, digest, pending.count == 1 ? Data(pending[0]) : Data(pending.joined()))
        }
        let rest = pending
        try await BlockingIO.run {
            try append(rest)
            try file.value?.finish()
        }
        return (size, digest, nil)
    }
}
