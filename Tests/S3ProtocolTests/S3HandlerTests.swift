import Crypto
import Foundation
@testable import S3Protocol
import Testing

/// Buckets in memory: what the protocol layer is tested against.
actor MemoryBackend: S3Backend {
    var buckets: [String: Date] = [:]
    var objects: [String: [String: (S3ObjectInfo, [UInt8])]] = [:]
    var uploads: [String: (bucket: String, key: String, parts: [Int: [UInt8]])] = [:]

    func listBuckets(accessKey: String) -> [S3BucketInfo] { buckets.map { S3BucketInfo(name: $0.key, created: $0.value) } }
    func createBucket(_ bucket: String, accessKey: String) { buckets[bucket] = buckets[bucket] ?? Date(); objects[bucket] = objects[bucket] ?? [:] }
    func headBucket(_ bucket: String, accessKey: String) throws {
        guard buckets[bucket] != nil else { throw S3Error("NoSuchBucket", status: 404, bucket) }
    }
    func deleteBucket(_ bucket: String, accessKey: String) throws { buckets[bucket] = nil }
    func listObjects(_ bucket: String, prefix: String, after: String?, limit: Int, accessKey: String) throws -> [S3ObjectInfo] {
        try headBucket(bucket, accessKey: accessKey)
        let keys = (objects[bucket] ?? [:]).keys.filter { key in
            key.utf8.starts(with: prefix.utf8) && (after.map { $0.utf8.lexicographicallyPrecedes(key.utf8) } ?? true)
        }
            .sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
        return keys.prefix(limit).compactMap { objects[bucket]?[$0]?.0 }
    }
    func headObject(_ bucket: String, key: String, accessKey: String) throws -> S3ObjectInfo {
        guard let o = objects[bucket]?[key] else { throw S3Error("NoSuchKey", status: 404, key) }
        return o.0
    }
    func getObject(_ bucket: String, key: String, range: Range<UInt64>?, accessKey: String) throws -> S3ObjectContent {
        guard let o = objects[bucket]?[key] else { throw S3Error("NoSuchKey", status: 404, key) }
        let r = range ?? 0..<UInt64(o.1.count)
        let bytes = Array(o.1[Int(r.lowerBound)..<Int(r.upperBound)])
        return S3ObjectContent(info: o.0, bytes: S3ByteStream { $0.yield(bytes); $0.finish() })
    }
    func putObject(_ bucket: String, key: String, body: S3UploadBody, contentType: String, metadata: [String: String],
                   accessKey: String) async throws -> S3ObjectInfo {
        var bytes: [UInt8] = []
        for try await chunk in body { bytes += chunk }
        let info = S3ObjectInfo(key: key, size: UInt64(bytes.count), etag: (body.md5 ?? []).map { String(format: "%02x", $0) }.joined(),
                                lastModified: Date(), contentType: contentType, metadata: metadata)
        objects[bucket, default: [:]][key] = (info, bytes)
        return info
    }
    func copyObject(from: (bucket: String, key: String), to: (bucket: String, key: String), contentType: String?, metadata: [String: String]?,
                    accessKey: String) throws -> S3ObjectInfo {
        guard var o = objects[from.bucket]?[from.key] else { throw S3Error("NoSuchKey", status: 404, from.key) }
        o.0.key = to.key
        objects[to.bucket, default: [:]][to.key] = o
        return o.0
    }
    func deleteObject(_ bucket: String, key: String, accessKey: String) { objects[bucket]?[key] = nil }
    func createMultipartUpload(_ bucket: String, key: String, contentType: String, metadata: [String: String], userAgent: String?,
                               accessKey: String) -> String {
        let id = UUID().uuidString
        uploads[id] = (bucket, key, [:])
        return id
    }
    func uploadPart(_ bucket: String, key: String, uploadID: String, part: Int, body: S3UploadBody, accessKey: String) async throws -> String {
        var bytes: [UInt8] = []
        for try await chunk in body { bytes += chunk }
        uploads[uploadID]?.parts[part] = bytes
        return (body.md5 ?? []).map { String(format: "%02x", $0) }.joined()
    }
    func uploadPartCopy(_ bucket: String, key: String, uploadID: String, part: Int, from: (bucket: String, key: String), range: Range<UInt64>?,
                        accessKey: String) throws -> String { throw S3Error.notImplemented("") }
    func listParts(_ bucket: String, key: String, uploadID: String, accessKey: String) -> [S3PartInfo] { [] }
    func completeMultipartUpload(_ bucket: String, key: String, uploadID: String, parts: [(part: Int, etag: String)],
                                 accessKey: String) throws -> S3ObjectInfo {
        throw S3Error("InvalidPart", status: 400, "")
    }
    func abortMultipartUpload(_ bucket: String, key: String, uploadID: String, accessKey: String) { uploads[uploadID] = nil }
    func listMultipartUploads(_ bucket: String, accessKey: String) -> [S3MultipartInfo] { [] }
}

/// Signs requests as an SDK does (header form).
struct TestSigner {
    static let key = "AKTEST", secret = "secret-for-tests"
    static let now = Date(timeIntervalSince1970: 1_800_000_000)

    static func sign(_ method: String, _ path: String, query: String = "", headers: [(String, String)] = [],
        payloadHash: String) throws -> S3RequestHead {
        let amzDate = "20270115T080000Z"
        var head = S3RequestHead(method: method, rawPath: path, rawQuery: query,
                                 headers: [("host", "127.0.0.1"), ("x-amz-date", amzDate), ("x-amz-content-sha256", payloadHash)] + headers)
        let signed = Array(Set(head.headers.map(\.name))).sorted()
        let verifier = SigV4 { $0 == key ? secret : nil }
        let scope = try SigV4.Scope("\(key)/20270115/us-east-1/s3/aws4_request", amzDate: amzDate, malformed: S3Error.authorizationHeaderMalformed)
        let signingKey = try verifier.signingKey(scope)
        let canonical = try SigV4.canonicalRequest(head, query: try head.queryItems(), signedHeaders: signed, payloadHash: payloadHash)
        let signature = SigV4.signature(key: signingKey, amzDate: amzDate, scope: scope.text, canonical: canonical)
        head.headers.append(("authorization",
            "AWS4-HMAC-SHA256 Credential=\(key)/\(scope.text), SignedHeaders=\(signed.joined(separator: ";")), Signature=\(signature)"))
        return head
    }

    static func sha(_ bytes: [UInt8]) -> String { SigV4.hex(Array(SHA256.hash(data: bytes))) }
}

@Suite struct S3HandlerTests {
    static func handler(_ backend: MemoryBackend) -> S3Handler { S3Handler(backend: backend,
        secret: { $0 == TestSigner.key ? TestSigner.secret : nil }) }
    static func stream(_ bytes: [UInt8], pieces: Int = 3) -> S3ByteStream {
        S3ByteStream { c in
            let size = max(1, bytes.count / pieces)
            var at = 0
            while at < bytes.count { c.yield(Array(bytes[at..<min(bytes.count, at + size)])); at += size }
            c.finish()
        }
    }
    static func body(_ r: S3Response) -> String {
        if case .bytes(let b) = r.body { return String(decoding: b, as: UTF8.self) }
        return ""
    }

    func run(_ handler: S3Handler, _ head: S3RequestHead, _ body: [UInt8] = []) async -> S3Response {
        await handler.handle(head, body: S3HandlerTests.stream(body), now: TestSigner.now)
    }

    @Test func badBodiesAreRefusedAndNothingIsStored() async throws {
        let backend = MemoryBackend()
        await backend.createBucket("bkt", accessKey: TestSigner.key)
        let h = S3HandlerTests.handler(backend)
        // A body other than the one whose SHA-256 was signed.
        let signedFor = Array("hello".utf8)
        let put = try TestSigner.sign("PUT", "/bkt/k", headers: [("content-length", "5")], payloadHash: TestSigner.sha(signedFor))
        let mismatch = await run(h, put, Array("world".utf8))
        #expect(mismatch.status == 400 && S3HandlerTests.body(mismatch).contains("XAmzContentSHA256Mismatch"))
        // A Content-MD5 that does not match.
        let md5 = Data(Insecure.MD5.hash(data: Array("other".utf8))).base64EncodedString()
        let badMD5 = await run(h, try TestSigner.sign("PUT", "/bkt/k", headers: [("content-length", "5"), ("content-md5", md5)],
                                                        payloadHash: "UNSIGNED-PAYLOAD"), signedFor)
        #expect(badMD5.status == 400 && S3HandlerTests.body(badMD5).contains("BadDigest"))
        // An aws-chunked body whose chunk signature is wrong.
        let chunked = try TestSigner.sign("PUT", "/bkt/k", headers: [("content-encoding", "aws-chunked"), ("x-amz-decoded-content-length", "5"),
                                                                   ("content-length", "200")],
                                          payloadHash: "STREAMING-AWS4-HMAC-SHA256-PAYLOAD")
        let (fakeA, fakeB) = (String(repeating: "a", count: 64), String(repeating: "b", count: 64))
        let forged = Array("5;chunk-signature=\(fakeA)\r\nhello\r\n0;chunk-signature=\(fakeB)\r\n\r\n".utf8)
        let badChunk = await run(h, chunked, forged)
        #expect(badChunk.status == 403 && S3HandlerTests.body(badChunk).contains("SignatureDoesNotMatch"))
        // A body shorter than its Content-Length.
        let short = await run(h, try TestSigner.sign("PUT", "/bkt/k", headers: [("content-length", "9")], payloadHash: "UNSIGNED-PAYLOAD"), signedFor)
        #expect(short.status == 400 && S3HandlerTests.body(short).contains("IncompleteBody"))
        // None of them left an object behind.
        let get = await run(h, try TestSigner.sign("GET", "/bkt/k", payloadHash: SigV4.emptyHash))
        #expect(get.status == 404 && S3HandlerTests.body(get).contains("NoSuchKey"))
        // The same request, right: stored, with the MD5 as ETag.
        let good = await run(h, try TestSigner.sign("PUT", "/bkt/k", headers: [("content-length", "5")],
            payloadHash: TestSigner.sha(signedFor)), signedFor)
        #expect(good.status == 200 && good.headers.contains { $0.name == "ETag" && $0.value == "\"5d41402abc4b2a76b9719d911017c592\"" })
    }

    @Test func malformedXMLIsRefused() async throws {
        let backend = MemoryBackend()
        await backend.createBucket("bkt", accessKey: TestSigner.key)
        let h = S3HandlerTests.handler(backend)
        let junk = Array("<CompleteMultipartUpload><Part><PartNumber>x".utf8)
        for (method, path, query) in [("POST", "/bkt/k", "uploadId=u1"), ("POST", "/bkt", "delete")] {
            let head = try TestSigner.sign(method, path, query: query, headers: [("content-length", "\(junk.count)")],
                payloadHash: TestSigner.sha(junk))
            let r = await run(h, head, junk)
            #expect(r.status == 400 && S3HandlerTests.body(r).contains("MalformedXML"), "\(method) \(path)?\(query): \(S3HandlerTests.body(r))")
        }
    }

    /// `If-Match`, `If-None-Match`, `If-Modified-Since` and `If-Unmodified-Since` on GET, the dates in the three HTTP
    /// forms; a date that cannot be read is ignored, as S3 does.
    @Test func conditionalGetsAnswer304And412() async throws {
        let backend = MemoryBackend()
        await backend.createBucket("bkt", accessKey: TestSigner.key)
        let h = S3HandlerTests.handler(backend)
        let bytes = Array("hello".utf8)
        let put = await run(h, try TestSigner.sign("PUT", "/bkt/k", headers: [("content-length", "5")],
                                                   payloadHash: TestSigner.sha(bytes)), bytes)
        #expect(put.status == 200)
        let (past, future) = ("Sun, 06 Nov 1994 08:49:37 GMT", "Fri, 01 Jan 2100 00:00:00 GMT")
        let cases: [(String, String, Int)] = [
            ("if-modified-since", future, 304), ("if-modified-since", "Fri Jan  1 00:00:00 2100", 304),
            ("if-modified-since", past, 200), ("if-unmodified-since", past, 412),
            ("if-unmodified-since", "Sunday, 06-Nov-94 08:49:37 GMT", 412), ("if-unmodified-since", future, 200),
            ("if-unmodified-since", "not a date", 200), ("if-modified-since", "Fri, 31 Feb 2100 00:00:00 GMT", 200),
            ("if-none-match", "\"5d41402abc4b2a76b9719d911017c592\"", 304), ("if-match", "\"other\"", 412),
            ("if-match", "*", 200),
        ]
        for (name, value, status) in cases {
            let get = await run(h, try TestSigner.sign("GET", "/bkt/k", headers: [(name, value)], payloadHash: SigV4.emptyHash))
            #expect(get.status == status, "\(name): \(value)")
        }
    }

    /// V1 pages with a delimiter: NextMarker on every truncated page (a page of prefixes only too), no
    /// prefix repeated across pages, every key seen once.
    @Test func listingsPageThroughPrefixesAndKeys() async throws {
        let backend = MemoryBackend()
        await backend.createBucket("bkt", accessKey: TestSigner.key)
        let h = S3HandlerTests.handler(backend)
        let keys = ["a/1", "a/2", "b/1", "c", "d/1", "d/2", "e", "f/x/y"]
        for k in keys {
            _ = await run(h, try TestSigner.sign("PUT", "/bkt/\(k)", headers: [("content-length", "1")], payloadHash: "UNSIGNED-PAYLOAD"), [1])
        }
        var marker = ""
        var seen: [String] = []
        for _ in 0..<10 {
            let query = "delimiter=%2F&max-keys=2&prefix=" + (marker.isEmpty ? "" : "&marker=\(PercentEncoding.encode(marker))")
            let r = await run(h, try TestSigner.sign("GET", "/bkt", query: query, payloadHash: SigV4.emptyHash))
            let xml = S3HandlerTests.body(r)
            let entries = xml.components(separatedBy: "<Key>").dropFirst().map { String($0.prefix { $0 != "<" }) }
                + xml.components(separatedBy: "<Prefix>").dropFirst().map { String($0.prefix { $0 != "<" }) }.filter { !$0.isEmpty }
            seen += entries
            guard xml.contains("<IsTruncated>true</IsTruncated>") else { break }
            let next = xml.components(separatedBy: "<NextMarker>").dropFirst().first.map { String($0.prefix { $0 != "<" }) }
            #expect(next != nil, "a truncated page carries NextMarker: \(xml)")
            marker = next ?? ""
        }
        #expect(seen.sorted() == ["a/", "b/", "c", "d/", "e", "f/"], "\(seen)")
    }
}
