import Foundation
@testable import S3Protocol
import Testing

/// The worked examples of AWS's "Signature Calculations for the Authorization Header" and "Query
/// Parameters" pages for S3 (key AKIAIOSFODNN7EXAMPLE, 2013-05-24), and what must be refused.
@Suite struct SigV4Tests {
    static let key = "AKIAIOSFODNN7EXAMPLE"
    static let secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
    static let verifier = SigV4 { $0 == key ? secret : nil }
    static let then = Date(timeIntervalSince1970: 1_369_353_600)  // 2013-05-24T00:00:00Z
    static let emptyHash = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

    static func authorization(_ signedHeaders: String, _ signature: String) -> String {
        "AWS4-HMAC-SHA256 Credential=\(key)/20130524/us-east-1/s3/aws4_request,SignedHeaders=\(signedHeaders),Signature=\(signature)"
    }

    static func getObject(signature: String = "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41",
                          extra: [(name: String, value: String)] = []) -> S3RequestHead {
        S3RequestHead(method: "GET", rawPath: "/test.txt", headers: [
            ("Host", "examplebucket.s3.amazonaws.com"), ("Range", "bytes=0-9"), ("x-amz-content-sha256", emptyHash),
            ("x-amz-date", "20130524T000000Z"),
            ("Authorization", authorization("host;range;x-amz-content-sha256;x-amz-date", signature)),
        ] + extra)
    }

    @Test func theGetObjectExample() throws {
        let verified = try SigV4Tests.verifier.verify(SigV4Tests.getObject(), now: SigV4Tests.then)
        #expect(verified == VerifiedRequest(accessKey: SigV4Tests.key, payload: .sha256(SigV4Tests.emptyHash)))
    }

    @Test func thePutObjectExample() throws {
        let head = S3RequestHead(method: "PUT", rawPath: "/test%24file.text", headers: [
            ("Host", "examplebucket.s3.amazonaws.com"), ("Date", "Fri, 24 May 2013 00:00:00 GMT"),
            ("x-amz-date", "20130524T000000Z"), ("x-amz-storage-class", "REDUCED_REDUNDANCY"),
            ("x-amz-content-sha256", "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072"),
            ("Authorization", SigV4Tests.authorization("date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class",
                                                       "98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd")),
        ])
        #expect(try SigV4Tests.verifier.verify(head, now: SigV4Tests.then).payload
                == .sha256("44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072"))
    }

    @Test func queryStringsAreCanonical() throws {
        func head(_ query: String, _ signature: String) -> S3RequestHead {
            S3RequestHead(method: "GET", rawPath: "/", rawQuery: query, headers: [
                ("Host", "examplebucket.s3.amazonaws.com"), ("x-amz-date", "20130524T000000Z"), ("x-amz-content-sha256", SigV4Tests.emptyHash),
                ("Authorization", SigV4Tests.authorization("host;x-amz-content-sha256;x-amz-date", signature)),
            ])
        }
        _ = try SigV4Tests.verifier.verify(head("lifecycle",
            "fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543"), now: SigV4Tests.then)
        _ = try SigV4Tests.verifier.verify(head("max-keys=2&prefix=J", "34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7"),
                                           now: SigV4Tests.then)
        // The same parameters in another order sign the same.
        _ = try SigV4Tests.verifier.verify(head("prefix=J&max-keys=2", "34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7"),
                                           now: SigV4Tests.then)
    }

    @Test func thePresignedExample() throws {
        let query = "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request"
            + "&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host"
            + "&X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404"
        let head = S3RequestHead(method: "GET", rawPath: "/test.txt", rawQuery: query, headers: [("Host", "examplebucket.s3.amazonaws.com")])
        #expect(try SigV4Tests.verifier.verify(head, now: SigV4Tests.then.addingTimeInterval(3600)).payload == .unsigned)
        #expect(throws: S3Error.accessDenied("Request has expired")) {
            try SigV4Tests.verifier.verify(head, now: SigV4Tests.then.addingTimeInterval(86_401))
        }
        let tampered = S3RequestHead(method: "GET", rawPath: "/other.txt", rawQuery: query, headers: [("Host", "examplebucket.s3.amazonaws.com")])
        #expect(throws: S3Error.self) { try SigV4Tests.verifier.verify(tampered, now: SigV4Tests.then) }
    }

    @Test func refusals() throws {
        let wrongSecret = SigV4 { _ in "not-the-secret" }
        func code(_ body: () throws -> VerifiedRequest) -> String? {
            do { _ = try body(); return nil } catch let error as S3Error { return error.code } catch { return "\(error)" }
        }
        #expect(code { try wrongSecret.verify(SigV4Tests.getObject(), now: SigV4Tests.then) } == "SignatureDoesNotMatch")
        #expect(code { try SigV4 { _ in nil }.verify(SigV4Tests.getObject(), now: SigV4Tests.then) } == "InvalidAccessKeyId")
        #expect(code { try SigV4Tests.verifier.verify(SigV4Tests.getObject(),
            now: SigV4Tests.then.addingTimeInterval(16 * 60)) } == "RequestTimeTooSkewed")
        #expect(code { try SigV4Tests.verifier.verify(SigV4Tests.getObject(signature: String(repeating: "0", count: 64)), now: SigV4Tests.then) }
                == "SignatureDoesNotMatch")
        // An x-amz header that the signature does not cover.
        #expect(code { try SigV4Tests.verifier.verify(SigV4Tests.getObject(extra: [("x-amz-meta-evil", "1")]),
            now: SigV4Tests.then) } == "AccessDenied")
        // No signature at all.
        let bare = S3RequestHead(method: "GET", rawPath: "/test.txt", headers: [("Host", "examplebucket.s3.amazonaws.com")])
        #expect(code { try SigV4Tests.verifier.verify(bare, now: SigV4Tests.then) } == "AccessDenied")
        let v2 = S3RequestHead(method: "GET", rawPath: "/", headers: [("Host", "h"), ("Authorization",
            "AWS AKIAIOSFODNN7EXAMPLE:frJIUN8DYpKDtOLCwo//yllqDzg=")])
        #expect(code { try SigV4Tests.verifier.verify(v2, now: SigV4Tests.then) } == "AuthorizationHeaderMalformed")
    }

    /// The chunked-upload example: 64 KiB and 1 KiB of "a", each chunk signed after the previous one.
    @Test func theChunkedUploadExample() throws {
        let head = S3RequestHead(method: "PUT", rawPath: "/examplebucket/chunkObject.txt", headers: [
            ("Host", "s3.amazonaws.com"), ("x-amz-date", "20130524T000000Z"), ("x-amz-storage-class", "REDUCED_REDUNDANCY"),
            ("x-amz-content-sha256", "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"), ("Content-Encoding", "aws-chunked"),
            ("x-amz-decoded-content-length", "66560"), ("Content-Length", "66824"),
            ("Authorization", SigV4Tests.authorization(
                "content-encoding;content-length;host;x-amz-content-sha256;x-amz-date;x-amz-decoded-content-length;x-amz-storage-class",
                "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9")),
        ])
        let verified = try SigV4Tests.verifier.verify(head, now: SigV4Tests.then)
        guard case .signedChunks(let signer) = verified.payload else { Issue.record("not chunked"); return }
        var body: [UInt8] = []
        body += Array("10000;chunk-signature=ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648\r\n".utf8)
        body += [UInt8](repeating: UInt8(ascii: "a"), count: 65536) + [13, 10]
        body += Array("400;chunk-signature=0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497\r\n".utf8)
        body += [UInt8](repeating: UInt8(ascii: "a"), count: 1024) + [13, 10]
        body += Array("0;chunk-signature=b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9\r\n\r\n".utf8)
        #expect(body.count == 66824)
        // Fed in uneven pieces, as a network delivers it.
        var decoder = AWSChunkedDecoder(signer: signer)
        var out: [UInt8] = []
        var at = 0
        var step = 1
        while at < body.count {
            let end = min(body.count, at + step)
            out += try decoder.feed(body[at..<end])
            at = end
            step = step * 2 + 3
        }
        try decoder.finish()
        #expect(out == [UInt8](repeating: UInt8(ascii: "a"), count: 66560))
        // One byte changed in a chunk: its signature fails.
        var bad = body
        bad[100] = UInt8(ascii: "b")
        var strict = AWSChunkedDecoder(signer: signer)
        #expect(throws: S3Error.self) { _ = try strict.feed(bad) }
        // Cut short: finish says so.
        var short = AWSChunkedDecoder(signer: signer)
        _ = try short.feed(body[0..<1000])
        #expect(throws: S3Error.self) { try short.finish() }
    }

    @Test func unsignedChunksWithATrailer() throws {
        var decoder = AWSChunkedDecoder(signer: nil)
        let body = Array("5\r\nhello\r\n6\r\n world\r\n0\r\nx-amz-checksum-crc32:DUoRhQ==\r\n\r\n".utf8)
        #expect(try decoder.feed(body) == Array("hello world".utf8))
        try decoder.finish()
        #expect(decoder.trailers.first?.name == "x-amz-checksum-crc32" && decoder.trailers.first?.value == "DUoRhQ==")
        var junk = AWSChunkedDecoder(signer: nil)
        #expect(throws: S3Error.self) { _ = try junk.feed(Array("zz\r\n".utf8)) }
    }
}
