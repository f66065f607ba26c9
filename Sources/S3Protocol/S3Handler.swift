import CivilTime
import Foundation

/// Serves S3 requests from any ``S3Backend``: authenticates every request (``SigV4``), reads the operation,
/// calls the backend and renders S3's headers, XML bodies and errors. It knows nothing of where objects live.
public struct S3Handler: Sendable {
    let backend: any S3Backend
    let signer: SigV4

    /// A handler over `backend` that accepts the access keys `secret` knows.
    public init(backend: any S3Backend, secret: @escaping @Sendable (String) -> String?) {
        self.backend = backend
        self.signer = SigV4(secret: secret)
    }

    /// The response to `head` with its body `body`.
    public func handle(_ head: S3RequestHead, body: S3ByteStream, now: Date = Date()) async -> S3Response {
        let requestID = S3Handler.requestID()
        do {
            let verified = try signer.verify(head, now: now)
            let operation = try S3Operation(head)
            var response = try await run(operation, head: head, body: body, verified: verified)
            response.headers.append(("x-amz-request-id", String(requestID)))
            return response
        } catch {
            let s3 = error as? S3Error ?? S3Error("InternalError", status: 500, "We encountered an internal error: \(error)")
            let body: S3Response.Body = head.method == "HEAD" ? .empty : .bytes(S3XML.error(s3, resource: head.rawPath, requestID: String(requestID)))
            return S3Response(status: s3.status, headers: [("Content-Type", "application/xml"), ("x-amz-request-id", String(requestID))], body: body)
        }
    }

    /// 16 random upper-case hex digits, as S3's request IDs.
    static func requestID() -> String {
        let hex = String(UInt64.random(in: .min ... .max), radix: 16, uppercase: true)
        return String(repeating: "0", count: 16 - hex.utf8.count) + hex
    }

    func run(_ operation: S3Operation, head: S3RequestHead, body: S3ByteStream, verified: VerifiedRequest) async throws -> S3Response {
        let user = verified.accessKey
        switch operation {
        case .listBuckets:
            let buckets = try await backend.listBuckets(accessKey: user)
            let result = ListAllMyBucketsResult(
                Owner: .init(ID: user, DisplayName: user),
                Buckets: .init(Bucket: buckets.map { .init(Name: $0.name, CreationDate: S3XML.timestamp($0.created)) }))
            return .xml(S3XML.encode(result, root: "ListAllMyBucketsResult"))
        case .createBucket(let bucket):
            try await backend.createBucket(bucket, accessKey: user)
            return S3Response(status: 200, headers: [("Location", "/\(bucket)")])
        case .headBucket(let bucket):
            try await backend.headBucket(bucket, accessKey: user)
            return S3Response(status: 200, headers: [("x-amz-bucket-region", "us-east-1")])
        case .deleteBucket(let bucket):
            try await backend.deleteBucket(bucket, accessKey: user)
            return S3Response(status: 204)
        case .getBucketLocation(let bucket):
            try await backend.headBucket(bucket, accessKey: user)
            return .xml(S3XML.encode(LocationConstraint(), root: "LocationConstraint"))
        case .getBucketVersioning(let bucket):
            try await backend.headBucket(bucket, accessKey: user)
            return .xml(S3XML.encode(VersioningConfiguration(), root: "VersioningConfiguration"))
        case .listObjects(let bucket, let version):
            return try await list(bucket, version: version, head: head, user: user)
        case .putObject(let bucket, let key):
            let upload = try uploadBody(head, body: body, payload: verified.payload)
            let info = try await backend.putObject(bucket, key: key, body: upload, contentType: head.header("content-type") ?? "binary/octet-stream",
                                                   metadata: S3Handler.metadata(head), accessKey: user)
            return S3Response(status: 200, headers: [("ETag", "\"\(info.etag)\"")])
        case .copyObject(let bucket, let key, let source):
            let from = try S3Handler.copySource(source)
            let replace = head.header("x-amz-metadata-directive")?.uppercased() == "REPLACE"
            let info = try await backend.copyObject(from: from, to: (bucket, key),
                contentType: replace ? head.header("content-type") ?? "binary/octet-stream" : nil,
                                                    metadata: replace ? S3Handler.metadata(head) : nil, accessKey: user)
            return .xml(S3XML.encode(CopyResult(LastModified: S3XML.timestamp(info.lastModified), ETag: "\"\(info.etag)\""),
                root: "CopyObjectResult"))
        case .headObject(let bucket, let key):
            let info = try await backend.headObject(bucket, key: key, accessKey: user)
            if let status = S3Handler.preconditionFailure(head, info) { return S3Response(status: status, headers: S3Handler.headers(info)) }
            var headers = S3Handler.headers(info)
            headers.append(("Content-Length", "\(info.size)"))
            return S3Response(status: 200, headers: headers)
        case .getObject(let bucket, let key):
            let info = try await backend.headObject(bucket, key: key, accessKey: user)
            if let status = S3Handler.preconditionFailure(head, info) { return S3Response(status: status, headers: S3Handler.headers(info)) }
            var headers = S3Handler.headers(info)
            if let rangeHeader = head.header("range"), let range = try S3Handler.range(rangeHeader, size: info.size) {
                let content = try await backend.getObject(bucket, key: key, range: range, accessKey: user)
                headers.append(("Content-Range", "bytes \(range.lowerBound)-\(range.upperBound - 1)/\(info.size)"))
                headers.append(("Content-Length", "\(range.count)"))
                return S3Response(status: 206, headers: headers, body: .stream(content.bytes, length: UInt64(range.count)))
            }
            let content = try await backend.getObject(bucket, key: key, range: nil, accessKey: user)
            headers.append(("Content-Length", "\(info.size)"))
            return S3Response(status: 200, headers: headers, body: .stream(content.bytes, length: info.size))
        case .deleteObject(let bucket, let key):
            try await backend.deleteObject(bucket, key: key, accessKey: user)
            return S3Response(status: 204)
        case .deleteObjects(let bucket):
            let request = try S3XML.deleteRequest(try await S3Handler.small(body, head: head, payload: verified.payload))
            guard request.keys.count <= 1000 else { throw S3Error("MalformedXML", status: 400, "DeleteObjects takes at most 1000 keys") }
            var deleted: [DeleteResult.Deleted] = []
            var failed: [DeleteResult.Failure] = []
            for key in request.keys {
                do {
                    try S3Names.checkKey(key)
                    try await backend.deleteObject(bucket, key: key, accessKey: user)
                    if !request.quiet { deleted.append(.init(Key: key)) }
                } catch let error as S3Error {
                    failed.append(.init(Key: key, Code: error.code, Message: error.message))
                }
            }
            return .xml(S3XML.encode(DeleteResult(Deleted: deleted, Error: failed), root: "DeleteResult"))
        case .listObjectVersions(let bucket):
            // No versioning: every current object is its only version, with VersionId "null".
            return try await list(bucket, version: 1, head: head, user: user, versions: true)
        case .createMultipartUpload(let bucket, let key):
            let id = try await backend.createMultipartUpload(bucket, key: key, contentType: head.header("content-type") ?? "binary/octet-stream",
                                                             metadata: S3Handler.metadata(head), userAgent: head.header("user-agent"),
                                                             accessKey: user)
            return .xml(S3XML.encode(InitiateMultipartUploadResult(Bucket: bucket, Key: key, UploadId: id), root: "InitiateMultipartUploadResult"))
        case .uploadPart(let bucket, let key, let uploadID, let part):
            let upload = try uploadBody(head, body: body, payload: verified.payload)
            let etag = try await backend.uploadPart(bucket, key: key, uploadID: uploadID, part: part, body: upload, accessKey: user)
            return S3Response(status: 200, headers: [("ETag", "\"\(etag)\"")])
        case .uploadPartCopy(let bucket, let key, let uploadID, let part, let source):
            let from = try S3Handler.copySource(source)
            var range: Range<UInt64>?
            if let text = head.header("x-amz-copy-source-range") {
                let size = try await backend.headObject(from.bucket, key: from.key, accessKey: user).size
                guard let r = try S3Handler.range(text, size: size) else {
                    throw S3Error("InvalidArgument", status: 400, "The x-amz-copy-source-range value must be of the form bytes=first-last")
                }
                range = r
            }
            let etag = try await backend.uploadPartCopy(bucket, key: key, uploadID: uploadID, part: part, from: from, range: range, accessKey: user)
            return .xml(S3XML.encode(CopyResult(LastModified: S3XML.timestamp(Date()), ETag: "\"\(etag)\""), root: "CopyPartResult"))
        case .completeMultipartUpload(let bucket, let key, let uploadID):
            let listed = try S3XML.completeRequest(try await S3Handler.small(body, head: head, payload: verified.payload))
            let parts = listed.map { (part: $0.part, etag: $0.etag.trimmingCharacters(in: CharacterSet(charactersIn: "\" "))) }
            let info = try await backend.completeMultipartUpload(bucket, key: key, uploadID: uploadID, parts: parts, accessKey: user)
            let location = "/\(bucket)/\(PercentEncoding.encode(key, keepSlash: true))"
            return .xml(S3XML.encode(CompleteMultipartUploadResult(Location: location, Bucket: bucket, Key: key, ETag: "\"\(info.etag)\""),
                                     root: "CompleteMultipartUploadResult"))
        case .abortMultipartUpload(let bucket, let key, let uploadID):
            try await backend.abortMultipartUpload(bucket, key: key, uploadID: uploadID, accessKey: user)
            return S3Response(status: 204)
        case .listParts(let bucket, let key, let uploadID):
            let parts = try await backend.listParts(bucket, key: key, uploadID: uploadID, accessKey: user)
            let result = ListPartsResult(Bucket: bucket, Key: key, UploadId: uploadID, MaxParts: 10_000, IsTruncated: false,
                                         Part: parts.map { .init(PartNumber: $0.part, LastModified: S3XML.timestamp($0.lastModified),
                                                                 ETag: "\"\($0.etag)\"", Size: $0.size) })
            return .xml(S3XML.encode(result, root: "ListPartsResult"))
        case .listMultipartUploads(let bucket):
            let uploads = try await backend.listMultipartUploads(bucket, accessKey: user)
            let result = ListMultipartUploadsResult(Bucket: bucket, MaxUploads: 1000, IsTruncated: false, Upload: uploads.map {
                .init(Key: $0.key, UploadId: $0.uploadID, Initiated: S3XML.timestamp($0.initiated), StorageClass: "STANDARD")
            })
            return .xml(S3XML.encode(result, root: "ListMultipartUploadsResult"))
        }
    }

    /// Largest XML request body read (CompleteMultipartUpload of 10,000 parts fits).
    static let maxXMLBody: UInt64 = 2 << 20

    /// A small request body, read whole and checked as its signature says.
    static func small(_ body: S3ByteStream, head: S3RequestHead, payload: SignedPayload) async throws -> [UInt8] {
        let declared = (head.header("x-amz-decoded-content-length") ?? head.header("content-length")).flatMap(UInt64.init)
        guard let length = declared, length <= maxXMLBody else {
            throw S3Error("MalformedXML", status: 400, "The request body must have a Content-Length of at most \(maxXMLBody) bytes")
        }
        var out: [UInt8] = []
        for try await chunk in try S3UploadBody(body, payload: payload, contentMD5: head.header("content-md5"), length: length) {
            out += chunk
        }
        return out
    }

    /// The body of a PUT, checked as its signature and headers say.
    func uploadBody(_ head: S3RequestHead, body: S3ByteStream, payload: SignedPayload) throws -> S3UploadBody {
        let declared = head.header("x-amz-decoded-content-length") ?? head.header("content-length")
        guard let lengthText = declared, let length = UInt64(lengthText) else {
            throw S3Error("MissingContentLength", status: 411, "You must provide the Content-Length HTTP header.")
        }
        guard length <= S3Handler.maxObjectSize else {
            throw S3Error("EntityTooLarge", status: 400, "Your proposed upload exceeds the maximum allowed object size.")
        }
        return try S3UploadBody(body, payload: payload, contentMD5: head.header("content-md5"), length: length)
    }

    /// Largest single PUT (S3: 5 GiB).
    public static let maxObjectSize: UInt64 = 5 << 30
    /// Largest user metadata, names and values together (S3: 2 KB).
    public static let maxMetadataBytes = 2048

    /// `x-amz-meta-*` headers, names lower-cased without the prefix.
    static func metadata(_ head: S3RequestHead) throws -> [String: String] {
        var out: [String: String] = [:]
        var total = 0
        for field in head.headers where field.name.hasPrefix("x-amz-meta-") {
            let name = String(field.name.dropFirst("x-amz-meta-".count))
            out[name] = field.value
            total += name.utf8.count + field.value.utf8.count
        }
        guard total <= maxMetadataBytes else {
            throw S3Error("MetadataTooLarge", status: 400, "Your metadata headers exceed the maximum allowed metadata size.")
        }
        return out
    }

    /// `bucket/key` of `x-amz-copy-source` (percent-encoded, optional leading `/`, `?versionId=null` allowed).
    static func copySource(_ header: String) throws -> (bucket: String, key: String) {
        var text = Substring(header)
        if let q = text.firstIndex(of: "?") {
            guard text[q...] == "?versionId=null" else { throw S3Error.invalidRequest("copying a specific version is not supported") }
            text = text[..<q]
        }
        if text.hasPrefix("/") { text = text.dropFirst() }
        guard let decoded = PercentEncoding.decode(text), let slash = decoded.firstIndex(of: "/") else {
            throw S3Error("InvalidArgument", status: 400, "Copy Source must mention the source bucket and key: sourcebucket/sourcekey")
        }
        let bucket = String(decoded[..<slash])
        let key = String(decoded[decoded.index(after: slash)...])
        try S3Names.checkBucket(bucket)
        try S3Names.checkKey(key)
        return (bucket, key)
    }

    /// The byte range of a `Range` header, nil when it is to be ignored (not `bytes=`, or several ranges).
    static func range(_ header: String, size: UInt64) throws -> Range<UInt64>? {
        guard header.hasPrefix("bytes="), !header.contains(",") else { return nil }
        let spec = header.dropFirst(6).trimmingCharacters(in: .whitespaces)
        let parts = spec.split(separator: "-", maxSplits: 1, omittingEmptySubsequences: false)
        guard parts.count == 2 else { return nil }
        let unsatisfiable = S3Error("InvalidRange", status: 416, "The requested range is not satisfiable")
        if parts[0].isEmpty {
            guard let suffix = UInt64(parts[1]) else { return nil }
            guard suffix > 0, size > 0 else { throw unsatisfiable }
            return (size - min(suffix, size))..<size
        }
        guard let start = UInt64(parts[0]) else { return nil }
        guard start < size else { throw unsatisfiable }
        if parts[1].isEmpty { return start..<size }
        guard let end = UInt64(parts[1]), end >= start else { return nil }
        return start..<(min(end, size - 1) + 1)
    }

    /// The headers that describe an object.
    static func headers(_ info: S3ObjectInfo) -> [(name: String, value: String)] {
        var headers: [(name: String, value: String)] = [
            ("ETag", "\"\(info.etag)\""), ("Last-Modified", S3XML.httpDate(info.lastModified)), ("Content-Type", info.contentType),
            ("Accept-Ranges", "bytes"),
        ]
        for (name, value) in info.metadata.sorted(by: { $0.key < $1.key }) { headers.append(("x-amz-meta-\(name)", value)) }
        return headers
    }

    /// 304 or 412 when a conditional header says so.
    static func preconditionFailure(_ head: S3RequestHead, _ info: S3ObjectInfo) -> Int? {
        func matches(_ list: String) -> Bool {
            list.split(separator: ",").contains { tag in
                let t = tag.trimmingCharacters(in: .whitespaces).trimmingCharacters(in: CharacterSet(charactersIn: "\""))
                return t == "*" || t == info.etag
            }
        }
        if let ifMatch = head.header("if-match"), !matches(ifMatch) { return 412 }
        if let ifNoneMatch = head.header("if-none-match"), matches(ifNoneMatch) { return 304 }
        let modified = info.lastModified.timeIntervalSince1970.rounded(.down)
        func since(_ name: String) -> Double? { head.header(name).flatMap { UTCDateTime(httpDate: $0) }.map { Double($0.secondsSince1970) } }
        if let date = since("if-unmodified-since"), modified > date { return 412 }
        if head.header("if-none-match") == nil, let date = since("if-modified-since"), modified <= date {
            return 304
        }
        return nil
    }

    func list(_ bucket: String, version: Int, head: S3RequestHead, user: String, versions: Bool = false) async throws -> S3Response {
        try await backend.headBucket(bucket, accessKey: user)
        let prefix = try head.query("prefix") ?? ""
        let delimiter = try head.query("delimiter").flatMap { $0.isEmpty ? nil : $0 }
        let maxKeys = min(1000, max(0, Int(try head.query("max-keys") ?? "") ?? 1000))
        let urlEncoded = try head.query("encoding-type") == "url"
        func out(_ s: String) -> String { urlEncoded ? PercentEncoding.encode(s, keepSlash: true) : s }
        var start: String?
        var result: ListBucketResult
        if version == 2 {
            let token = try head.query("continuation-token")
            if let token {
                guard let data = Data(base64Encoded: token), let key = String(data: data, encoding: .utf8) else {
                    throw S3Error("InvalidArgument", status: 400, "The continuation token provided is incorrect")
                }
                start = key
            } else {
                start = try head.query("start-after").flatMap { $0.isEmpty ? nil : $0 }
            }
            let page = try await S3Listing.page(backend, bucket: bucket, prefix: prefix, delimiter: delimiter, start: start,
                maxKeys: maxKeys, accessKey: user)
            result = S3Handler.result(bucket, prefix: out(prefix), page: page, maxKeys: maxKeys, encode: out)
            result.KeyCount = page.contents.count + page.prefixes.count
            result.ContinuationToken = token
            result.StartAfter = try head.query("start-after").map(out)
            if page.truncated, let last = page.last { result.NextContinuationToken = Data(last.utf8).base64EncodedString() }
        } else {
            let marker = try head.query(versions ? "key-marker" : "marker") ?? ""
            start = marker.isEmpty ? nil : marker
            let page = try await S3Listing.page(backend, bucket: bucket, prefix: prefix, delimiter: delimiter, start: start,
                maxKeys: maxKeys, accessKey: user)
            result = S3Handler.result(bucket, prefix: out(prefix), page: page, maxKeys: maxKeys, encode: out)
            result.Marker = out(marker)
            if page.truncated, let last = page.last { result.NextMarker = out(last) }
        }
        result.Delimiter = delimiter.map(out)
        result.EncodingType = urlEncoded ? "url" : nil
        if versions {
            let listing = ListVersionsResult(Name: result.Name, Prefix: result.Prefix, KeyMarker: result.Marker ?? "",
                                             NextKeyMarker: result.NextMarker, MaxKeys: result.MaxKeys, Delimiter: result.Delimiter,
                                             IsTruncated: result.IsTruncated,
                                             Version: result.Contents.map { .init(Key: $0.Key, VersionId: "null",
                                                 IsLatest: true, LastModified: $0.LastModified,
                                                                                   ETag: $0.ETag, Size: $0.Size, StorageClass: $0.StorageClass) },
                                             CommonPrefixes: result.CommonPrefixes)
            return .xml(S3XML.encode(listing, root: "ListVersionsResult"))
        }
        return .xml(S3XML.encode(result, root: "ListBucketResult"))
    }

    static func result(_ bucket: String, prefix: String, page: S3Listing, maxKeys: Int, encode: (String) -> String) -> ListBucketResult {
        ListBucketResult(
            Name: bucket, Prefix: prefix, MaxKeys: maxKeys, IsTruncated: page.truncated,
            Contents: page.contents.map {
                .init(Key: encode($0.key), LastModified: S3XML.timestamp($0.lastModified), ETag: "\"\($0.etag)\"",
                    Size: $0.size, StorageClass: "STANDARD")
            },
            CommonPrefixes: page.prefixes.map { .init(Prefix: encode($0)) })
    }
}
