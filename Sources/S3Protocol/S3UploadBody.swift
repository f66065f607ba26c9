import Crypto
import Foundation

/// A request body as the backend reads it: decoded from `aws-chunked` when it is, checked against its
/// signed SHA-256, its `Content-MD5` and its declared length as it streams, and hashed with MD5 for the
/// ETag. The last read throws when something does not match, so a backend that stops at the first error
/// never stores a body that does not verify.
public final class S3UploadBody: AsyncSequence, @unchecked Sendable {
    public typealias Element = [UInt8]

    private let source: S3ByteStream
    private let payload: SignedPayload
    private let expectedMD5: [UInt8]?
    private let expectedLength: UInt64?
    private let lock = NSLock()
    private var md5Digest: [UInt8]?
    private var count: UInt64 = 0
    private var consumed = false

    /// A body read from `source`, as `payload` says it is signed, with the optional `Content-MD5` (base64)
    /// and the declared decoded length.
    public init(_ source: S3ByteStream, payload: SignedPayload, contentMD5: String?, length: UInt64?) throws(S3Error) {
        self.source = source
        self.payload = payload
        self.expectedLength = length
        if let contentMD5 {
            guard let bytes = Data(base64Encoded: contentMD5), bytes.count == 16 else {
                throw S3Error("InvalidDigest", status: 400, "The Content-MD5 you specified was invalid.")
            }
            expectedMD5 = Array(bytes)
        } else {
            expectedMD5 = nil
        }
    }

    /// The MD5 of the bytes, once all were read and verified.
    public var md5: [UInt8]? { lock.withLock { md5Digest } }
    /// The bytes read so far.
    public var bytesRead: UInt64 { lock.withLock { count } }

    public struct AsyncIterator: AsyncIteratorProtocol {
        let body: S3UploadBody
        var upstream: S3ByteStream.AsyncIterator
        var md5 = Insecure.MD5()
        var sha = SHA256()
        var chunked: AWSChunkedDecoder?
        var finished = false
        var total: UInt64 = 0

        public mutating func next() async throws -> [UInt8]? {
            while !finished {
                guard let raw = try await upstream.next() else {
                    try finish()
                    return nil
                }
                let bytes = try chunked.map { decoder -> [UInt8] in var d = decoder; let out = try d.feed(raw); chunked = d; return out } ?? raw
                if bytes.isEmpty { continue }
                total += UInt64(bytes.count)
                if let limit = body.expectedLength, total > limit {
                    throw S3Error("IncompleteBody", status: 400, "The body is longer than its declared length")
                }
                md5.update(data: bytes)
                if case .sha256 = body.payload { sha.update(data: bytes) }
                body.lock.withLock { body.count = total }
                return bytes
            }
            return nil
        }

        mutating func finish() throws {
            finished = true
            try chunked?.finish()
            if let limit = body.expectedLength, total != limit {
                throw S3Error("IncompleteBody", status: 400, "You did not provide the number of bytes specified by the Content-Length HTTP header")
            }
            if case .sha256(let hex) = body.payload, SigV4.hex(Array(sha.finalize())) != hex { throw S3Error.contentSHA256Mismatch() }
            let digest = Array(md5.finalize())
            if let expected = body.expectedMD5, expected != digest {
                throw S3Error("BadDigest", status: 400, "The Content-MD5 you specified did not match what we received.")
            }
            body.lock.withLock { body.md5Digest = digest }
        }
    }

    /// The bytes; a body can be read once.
    public func makeAsyncIterator() -> AsyncIterator {
        let chunked: AWSChunkedDecoder?
        switch payload {
        case .signedChunks(let signer): chunked = AWSChunkedDecoder(signer: signer)
        case .unsignedChunks: chunked = AWSChunkedDecoder(signer: nil)
        default: chunked = nil
        }
        return AsyncIterator(body: self, upstream: source.makeAsyncIterator(), chunked: chunked)
    }
}
