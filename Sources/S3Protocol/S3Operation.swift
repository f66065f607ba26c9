/// What an S3 request asks for, read from its method, path (path-style: `/bucket/key`) and query.
public enum S3Operation: Sendable, Equatable {
    case listBuckets
    case createBucket(String)
    case headBucket(String)
    case deleteBucket(String)
    case getBucketLocation(String)
    case getBucketVersioning(String)
    case listObjects(String, version: Int)
    case listObjectVersions(String)
    case listMultipartUploads(String)
    case deleteObjects(String)
    case putObject(String, key: String)
    case copyObject(String, key: String, source: String)
    case getObject(String, key: String)
    case headObject(String, key: String)
    case deleteObject(String, key: String)
    case createMultipartUpload(String, key: String)
    case uploadPart(String, key: String, uploadID: String, part: Int)
    case uploadPartCopy(String, key: String, uploadID: String, part: Int, source: String)
    case completeMultipartUpload(String, key: String, uploadID: String)
    case abortMultipartUpload(String, key: String, uploadID: String)
    case listParts(String, key: String, uploadID: String)

    /// The operation `head` asks for; unknown combinations are `NotImplemented`, bad names `InvalidBucketName`
    /// or `KeyTooLongError`.
    public init(_ head: S3RequestHead) throws(S3Error) {
        guard let path = PercentEncoding.decode(Substring(head.rawPath)), path.hasPrefix("/") else {
            throw S3Error.invalidRequest("the request path is not valid percent-encoded UTF-8")
        }
        let rest = path.dropFirst()
        let slash = rest.firstIndex(of: "/")
        let bucket = String(slash.map { rest[..<$0] } ?? rest)
        let key = slash.map { String(rest[rest.index(after: $0)...]) } ?? ""
        let items = try head.queryItems()
        func has(_ name: String) -> Bool { items.contains { $0.name == name } }
        func value(_ name: String) -> String? { items.first { $0.name == name }?.value }
        let method = head.method.uppercased()
        if bucket.isEmpty {
            guard method == "GET" else { throw S3Error.notImplemented("\(method) / is not an S3 operation this gateway serves") }
            self = .listBuckets
            return
        }
        try S3Names.checkBucket(bucket)
        if key.isEmpty {
            switch method {
            case "PUT" where items.isEmpty || has("x-id"): self = .createBucket(bucket)
            case "HEAD": self = .headBucket(bucket)
            case "DELETE" where items.isEmpty || has("x-id"): self = .deleteBucket(bucket)
            case "GET" where has("location"): self = .getBucketLocation(bucket)
            case "GET" where has("versioning"): self = .getBucketVersioning(bucket)
            case "GET" where has("versions"): self = .listObjectVersions(bucket)
            case "GET" where has("uploads"): self = .listMultipartUploads(bucket)
            case "GET": self = .listObjects(bucket, version: value("list-type") == "2" ? 2 : 1)
            case "POST" where has("delete"): self = .deleteObjects(bucket)
            default: throw S3Error.notImplemented("\(method) on a bucket with this query is not supported")
            }
            return
        }
        try S3Names.checkKey(key)
        let uploadID = value("uploadId")
        let copySource = head.header("x-amz-copy-source")
        switch method {
        case "PUT":
            if let uploadID, let n = value("partNumber") {
                guard let part = Int(n), (1...10_000).contains(part) else {
                    throw S3Error("InvalidArgument", status: 400, "Part number must be an integer between 1 and 10000, inclusive")
                }
                self = copySource.map { .uploadPartCopy(bucket, key: key, uploadID: uploadID, part: part, source: $0) }
                    ?? .uploadPart(bucket, key: key, uploadID: uploadID, part: part)
            } else if let copySource {
                self = .copyObject(bucket, key: key, source: copySource)
            } else {
                self = .putObject(bucket, key: key)
            }
        case "GET": self = uploadID.map { .listParts(bucket, key: key, uploadID: $0) } ?? .getObject(bucket, key: key)
        case "HEAD": self = .headObject(bucket, key: key)
        case "DELETE": self = uploadID.map { .abortMultipartUpload(bucket, key: key, uploadID: $0) } ?? .deleteObject(bucket, key: key)
        case "POST" where has("uploads"): self = .createMultipartUpload(bucket, key: key)
        case "POST" where uploadID != nil: self = .completeMultipartUpload(bucket, key: key, uploadID: uploadID ?? "")
        default: throw S3Error.notImplemented("\(method) on an object with this query is not supported")
        }
    }
}

/// S3's rules for bucket names and object keys.
public enum S3Names {
    /// Longest key, in UTF-8 bytes (S3: 1024).
    public static let maxKeyBytes = 1024

    /// Bucket names as S3 allows them: 3–63 characters of `a-z 0-9 . -`, starting and ending with a letter or digit.
    public static func checkBucket(_ name: String) throws(S3Error) {
        let bytes = Array(name.utf8)
        let allowed = bytes.allSatisfy { ($0 >= 0x61 && $0 <= 0x7a) || ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x2e || $0 == 0x2d }
        func alnum(_ b: UInt8?) -> Bool { b.map { ($0 >= 0x61 && $0 <= 0x7a) || ($0 >= 0x30 && $0 <= 0x39) } ?? false }
        guard (3...63).contains(bytes.count), allowed, alnum(bytes.first), alnum(bytes.last), !name.contains("..") else {
            throw S3Error("InvalidBucketName", status: 400, "The specified bucket is not valid: \(name)")
        }
    }

    /// Keys are any UTF-8 up to 1024 bytes; `.` and `..` segments are refused so that a key can never name
    /// something outside its bucket once mapped onto paths.
    public static func checkKey(_ key: String) throws(S3Error) {
        guard key.utf8.count <= maxKeyBytes else { throw S3Error("KeyTooLongError", status: 400, "Your key is too long") }
        guard !key.split(separator: "/", omittingEmptySubsequences: false).contains(where: { $0 == "." || $0 == ".." }) else {
            throw S3Error("InvalidArgument", status: 400, "Object keys may not contain . or .. segments")
        }
    }
}
