import CivilTime
import Foundation
import XMLCoder

/// S3's XML bodies, encoded with XMLCoder. Keys may hold characters that XML text cannot carry
/// literally (CR is folded to LF by every parser), so those are written as character references.
public enum S3XML {
    static let namespace = "http://s3.amazonaws.com/doc/2006-03-01/"

    /// The body of `value` under the root element `root`, with S3's namespace.
    public static func encode<T: Encodable>(_ value: T, root: String) -> [UInt8] {
        let encoder = XMLEncoder()
        encoder.charactersEscapedInElements = [
            ("&", "&amp;"), ("<", "&lt;"), (">", "&gt;"), ("\r", "&#xD;"), ("\t", "&#x9;"),
        ]
        let data = (try? encoder.encode(value, withRootKey: root, rootAttributes: ["xmlns": namespace],
                                        header: XMLHeader(version: 1.0, encoding: "UTF-8"))) ?? Data()
        return Array(data)
    }

    /// An error body.
    public static func error(_ error: S3Error, resource: String, requestID: String) -> [UInt8] {
        struct Body: Encodable {
            let Code: String
            let Message: String
            let Resource: String
            let RequestId: String
        }
        let encoder = XMLEncoder()
        let data = (try? encoder.encode(Body(Code: error.code, Message: error.message, Resource: resource, RequestId: requestID),
                                        withRootKey: "Error", header: XMLHeader(version: 1.0, encoding: "UTF-8"))) ?? Data()
        return Array(data)
    }

    /// S3's timestamp format in listings: `2009-10-12T17:50:30.000Z`.
    public static func timestamp(_ date: Date) -> String { UTCDateTime(date).iso8601() }

    /// RFC 9110 HTTP dates, for `Last-Modified`.
    public static func httpDate(_ date: Date) -> String { UTCDateTime(date).httpDate }
}

/// `ListAllMyBucketsResult`.
struct ListAllMyBucketsResult: Encodable {
    struct Owner: Encodable { let ID: String; let DisplayName: String }
    struct Buckets: Encodable { let Bucket: [BucketEntry] }
    struct BucketEntry: Encodable { let Name: String; let CreationDate: String }
    let Owner: Owner
    let Buckets: Buckets
}

/// `ListBucketResult`, V1 and V2 (fields of the other version are nil and left out).
struct ListBucketResult: Encodable {
    struct Contents: Encodable {
        let Key: String
        let LastModified: String
        let ETag: String
        let Size: UInt64
        let StorageClass: String
    }
    struct CommonPrefix: Encodable { let Prefix: String }
    let Name: String
    let Prefix: String
    var Marker: String?
    var NextMarker: String?
    var ContinuationToken: String?
    var NextContinuationToken: String?
    var StartAfter: String?
    var KeyCount: Int?
    let MaxKeys: Int
    var Delimiter: String?
    var EncodingType: String?
    let IsTruncated: Bool
    let Contents: [Contents]
    let CommonPrefixes: [CommonPrefix]
}

/// `CopyObjectResult` and `CopyPartResult`.
struct CopyResult: Encodable {
    let LastModified: String
    let ETag: String
}

/// `VersioningConfiguration` with no status: versioning was never enabled.
struct VersioningConfiguration: Encodable {}

/// `LocationConstraint`, empty for us-east-1.
struct LocationConstraint: Encodable {}

/// `InitiateMultipartUploadResult`.
struct InitiateMultipartUploadResult: Encodable {
    let Bucket: String
    let Key: String
    let UploadId: String
}

/// `CompleteMultipartUploadResult`.
struct CompleteMultipartUploadResult: Encodable {
    let Location: String
    let Bucket: String
    let Key: String
    let ETag: String
}

/// `ListPartsResult`.
struct ListPartsResult: Encodable {
    struct Part: Encodable { let PartNumber: Int; let LastModified: String; let ETag: String; let Size: UInt64 }
    let Bucket: String
    let Key: String
    let UploadId: String
    let MaxParts: Int
    let IsTruncated: Bool
    let Part: [Part]
}

/// `ListMultipartUploadsResult`.
struct ListMultipartUploadsResult: Encodable {
    struct Upload: Encodable { let Key: String; let UploadId: String; let Initiated: String; let StorageClass: String }
    let Bucket: String
    let MaxUploads: Int
    let IsTruncated: Bool
    let Upload: [Upload]
}

/// `DeleteResult`.
struct DeleteResult: Encodable {
    struct Deleted: Encodable { let Key: String }
    struct Failure: Encodable { let Key: String; let Code: String; let Message: String }
    let Deleted: [Deleted]
    let Error: [Failure]
}

/// The `CompleteMultipartUpload` request body.
struct CompleteMultipartUploadRequest: Decodable {
    struct Part: Decodable { let PartNumber: Int; let ETag: String }
    let Part: [Part]
}

/// The `Delete` request body of DeleteObjects.
struct DeleteRequest: Decodable {
    struct Object: Decodable { let Key: String }
    let Object: [Object]
    let Quiet: Bool?
}

extension S3XML {
    /// The keys of a DeleteObjects body and its `Quiet` flag, or `MalformedXML`.
    public static func deleteRequest(_ bytes: [UInt8]) throws -> (keys: [String], quiet: Bool) {
        let request = try decode(DeleteRequest.self, from: bytes)
        return (request.Object.map(\.Key), request.Quiet ?? false)
    }

    /// The parts (number, ETag) a CompleteMultipartUpload body lists, or `MalformedXML`.
    public static func completeRequest(_ bytes: [UInt8]) throws -> [(part: Int, etag: String)] {
        try decode(CompleteMultipartUploadRequest.self, from: bytes).Part.map { ($0.PartNumber, $0.ETag) }
    }

    /// Decodes a request body, or throws `MalformedXML`.
    ///
    /// XMLCoder (FoundationXML) only sees a body ``XMLWellFormedness`` accepts: on Linux FoundationXML leaks on every
    /// parse error and traps on an element name that is not UTF-8.
    static func decode<T: Decodable>(_ type: T.Type, from bytes: [UInt8]) throws -> T {
        let malformed = S3Error("MalformedXML", status: 400,
                                "The XML you provided was not well-formed or did not validate against our published schema")
        guard XMLWellFormedness.check(bytes) else {
            throw malformed
        }
        do {
            // Text as sent: by default XMLCoder trims values and drops text pieces that are only white space (a key
            // `a ` or `a&#xD;b` would lose characters); white space between elements is dropped instead.
            return try XMLDecoder(trimValueWhitespaces: false, removeWhitespaceElements: true).decode(T.self, from: Data(bytes))
        } catch {
            throw malformed
        }
    }
}

/// `ListVersionsResult` (without versioning: one version per key, `VersionId` `null`).
struct ListVersionsResult: Encodable {
    struct Version: Encodable {
        let Key: String
        let VersionId: String
        let IsLatest: Bool
        let LastModified: String
        let ETag: String
        let Size: UInt64
        let StorageClass: String
    }
    let Name: String
    let Prefix: String
    let KeyMarker: String
    let NextKeyMarker: String?
    let MaxKeys: Int
    let Delimiter: String?
    let IsTruncated: Bool
    let Version: [Version]
    let CommonPrefixes: [ListBucketResult.CommonPrefix]
}
