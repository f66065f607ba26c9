import Crypto
import Foundation

/// An object as S3 describes it.
public struct S3ObjectInfo: Sendable, Equatable {
    /// Its key.
    public var key: String
    /// Size in bytes.
    public var size: UInt64
    /// The ETag without quotes: the MD5 of the content in hex for a single PUT, `md5-of-part-md5s-N` for multipart.
    public var etag: String
    /// When it was last written.
    public var lastModified: Date
    /// `Content-Type`.
    public var contentType: String
    /// User metadata (`x-amz-meta-NAME` → value), names in lower case without the prefix.
    public var metadata: [String: String]

    /// An object description.
    public init(key: String, size: UInt64, etag: String, lastModified: Date, contentType: String, metadata: [String: String]) {
        self.key = key
        self.size = size
        self.etag = etag
        self.lastModified = lastModified
        self.contentType = contentType
        self.metadata = metadata
    }
}

/// A bucket as S3 lists it.
public struct S3BucketInfo: Sendable, Equatable {
    /// Its name.
    public var name: String
    /// When it was created.
    public var created: Date

    /// A bucket description.
    public init(name: String, created: Date) {
        self.name = name
        self.created = created
    }
}

/// Bytes handed out in pieces.
public typealias S3ByteStream = AsyncThrowingStream<[UInt8], Error>

/// What an object's bytes are read from: the whole object or a byte range of it.
public struct S3ObjectContent: Sendable {
    /// The object.
    public var info: S3ObjectInfo
    /// The bytes of `range` (or of the whole object).
    public var bytes: S3ByteStream

    /// Content for `info`.
    public init(info: S3ObjectInfo, bytes: S3ByteStream) {
        self.info = info
        self.bytes = bytes
    }
}

/// Where the buckets and objects live. The protocol layer (``S3Handler``) authenticates, parses and renders;
/// a backend only stores. Errors it throws should be ``S3Error``s (`NoSuchBucket`, `NoSuchKey`, …); any
/// other error is answered as `InternalError`.
public protocol S3Backend: Sendable {
    /// The buckets `accessKey` may see.
    func listBuckets(accessKey: String) async throws -> [S3BucketInfo]
    /// Creates a bucket; creating one that exists and is the caller's succeeds.
    func createBucket(_ bucket: String, accessKey: String) async throws
    /// Throws `NoSuchBucket` when the bucket does not exist.
    func headBucket(_ bucket: String, accessKey: String) async throws
    /// Deletes an empty bucket (`BucketNotEmpty` otherwise).
    func deleteBucket(_ bucket: String, accessKey: String) async throws
    /// Up to `limit` objects whose keys start with `prefix` and come after `after` (byte order of UTF-8).
    func listObjects(_ bucket: String, prefix: String, after: String?, limit: Int, accessKey: String) async throws -> [S3ObjectInfo]
    /// An object's description (`NoSuchKey` when missing).
    func headObject(_ bucket: String, key: String, accessKey: String) async throws -> S3ObjectInfo
    /// An object's bytes, all of them or `range`.
    func getObject(_ bucket: String, key: String, range: Range<UInt64>?, accessKey: String) async throws -> S3ObjectContent
    /// Stores an object whose bytes arrive from `body` (which throws, at the end, if they do not verify: nothing
    /// may be kept then). Returns the stored object; it must be durable before this returns.
    func putObject(_ bucket: String, key: String, body: S3UploadBody, contentType: String, metadata: [String: String],
                   accessKey: String) async throws -> S3ObjectInfo
    /// Copies an object (its bytes are shared, not moved); `metadata`/`contentType` replace the source's when given.
    func copyObject(from: (bucket: String, key: String), to: (bucket: String, key: String), contentType: String?,
                    metadata: [String: String]?, accessKey: String) async throws -> S3ObjectInfo
    /// Deletes an object; deleting a missing one succeeds.
    func deleteObject(_ bucket: String, key: String, accessKey: String) async throws

    /// Starts a multipart upload of `key` for the client that says it is `userAgent`; returns its upload ID.
    func createMultipartUpload(_ bucket: String, key: String, contentType: String, metadata: [String: String],
                               userAgent: String?, accessKey: String) async throws -> String
    /// Stores part `part` (1…10000) of an upload from `body`; returns its ETag (the part's MD5 in hex).
    func uploadPart(_ bucket: String, key: String, uploadID: String, part: Int, body: S3UploadBody, accessKey: String) async throws -> String
    /// Stores part `part` as a byte range (or all) of an existing object; returns its ETag.
    func uploadPartCopy(_ bucket: String, key: String, uploadID: String, part: Int, from: (bucket: String, key: String),
                        range: Range<UInt64>?, accessKey: String) async throws -> String
    /// The parts stored so far, by part number.
    func listParts(_ bucket: String, key: String, uploadID: String, accessKey: String) async throws -> [S3PartInfo]
    /// Joins the listed parts (ascending part numbers, their ETags) into the object; `NoSuchUpload`,
    /// `InvalidPart`, `InvalidPartOrder` or `EntityTooSmall` otherwise.
    func completeMultipartUpload(_ bucket: String, key: String, uploadID: String, parts: [(part: Int, etag: String)],
                                 accessKey: String) async throws -> S3ObjectInfo
    /// Drops an upload and its parts.
    func abortMultipartUpload(_ bucket: String, key: String, uploadID: String, accessKey: String) async throws
    /// Uploads in progress in a bucket.
    func listMultipartUploads(_ bucket: String, accessKey: String) async throws -> [S3MultipartInfo]
}

/// A stored part of a multipart upload.
public struct S3PartInfo: Sendable, Equatable {
    /// Its number (1…10000).
    public var part: Int
    /// Its MD5 in hex.
    public var etag: String
    /// Its size.
    public var size: UInt64
    /// When it was stored.
    public var lastModified: Date

    /// A part description.
    public init(part: Int, etag: String, size: UInt64, lastModified: Date) {
        self.part = part
        self.etag = etag
        self.size = size
        self.lastModified = lastModified
    }
}

/// A multipart upload in progress.
public struct S3MultipartInfo: Sendable, Equatable {
    /// The object's key.
    public var key: String
    /// The upload ID.
    public var uploadID: String
    /// When it was started.
    public var initiated: Date

    /// An upload description.
    public init(key: String, uploadID: String, initiated: Date) {
        self.key = key
        self.uploadID = uploadID
        self.initiated = initiated
    }
}

extension S3Backend {
    /// The ETag S3 gives a multipart object: the MD5 of the parts' binary MD5s, then `-` and their count.
    public static func multipartETag(_ partETags: [String]) -> String {
        var md5 = Insecure.MD5()
        for tag in partETags { md5.update(data: hexBytes(tag)) }
        return SigV4.hex(Array(md5.finalize())) + "-\(partETags.count)"
    }

    static func hexBytes(_ hex: String) -> [UInt8] {
        var out: [UInt8] = []
        var iterator = hex.utf8.makeIterator()
        while let high = iterator.next().flatMap(PercentEncoding.hexValue), let low = iterator.next().flatMap(PercentEncoding.hexValue) {
            out.append(high << 4 | low)
        }
        return out
    }
}
