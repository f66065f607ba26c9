import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import S3Protocol

extension FuzzTargets {
    /// AWS's example credentials and the time of its worked examples (2013-05-24), which the seeds are signed with.
    static let exampleKey = "AKIAIOSFODNN7EXAMPLE"
    static let exampleSecret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
    static let exampleTime = Date(timeIntervalSince1970: 1_369_353_600)

    static let s3: [FuzzTarget] = [
        FuzzTarget(name: "sigv4", summary: "SigV4 header and query verification; a verified request fails once a signed header changes") { input in
            guard let head = FuzzRequest.parse(input)?.head else { return }
            let verifier = SigV4 { $0 == exampleKey ? exampleSecret : nil }
            guard (try? verifier.verify(head, now: exampleTime)) != nil else { return }
            // It verified: changing the value of any header it signed must break it.
            let signed = FuzzRequest.signedHeaders(head)
            guard let name = signed.first(where: { $0 != "host" && $0 != "x-amz-date" }) else { return }
            let changed = S3RequestHead(method: head.method, rawPath: head.rawPath, rawQuery: head.rawQuery, headers: head.headers.map {
                $0.name.lowercased() == name ? ($0.name, $0.value + "x") : $0
            })
            try require((try? verifier.verify(changed, now: exampleTime)) == nil, "a request verified after its signed header \(name) changed")
        },
        FuzzTarget(name: "aws-chunked", summary: "the aws-chunked body decoder, fed in uneven pieces; output never exceeds input") { input in
            var decoder = AWSChunkedDecoder(signer: nil)
            var out = 0
            var at = 0
            var step = 1
            do {
                while at < input.count {
                    let end = min(input.count, at + step)
                    out += try decoder.feed(input[at..<end]).count
                    at = end
                    step = step * 3 % 97 + 1
                }
                try decoder.finish()
            } catch {}
            try require(out <= input.count, "aws-chunked decoded \(out) bytes from \(input.count)")
        },
        FuzzTarget(name: "s3-xml", summary: "the DeleteObjects and CompleteMultipartUpload bodies; what the strict check "
                   + "accepts, FoundationXML parses without an error") { input in
            if XMLWellFormedness.check(input) {
                let errors = ParseErrors()
                let parser = XMLParser(data: Data(input))
                parser.delegate = errors
                parser.shouldResolveExternalEntities = false
                try require(parser.parse() && errors.count == 0, "FoundationXML refused a body the strict check accepted")
            }
            if let request = try? S3XML.deleteRequest(input) { try require(request.keys.count <= input.count, "more keys than bytes") }
            if let parts = try? S3XML.completeRequest(input) { try require(parts.count <= input.count, "more parts than bytes") }
        },
        FuzzTarget(name: "s3-request",
                   summary: "request → operation routing and key checks; an accepted key never has a . or .. segment") { input in
            if let head = FuzzRequest.parse(input)?.head {
                _ = try? S3Operation(head)
                _ = try? head.queryItems()
            }
            let key = text(input)
            if (try? S3Names.checkKey(key)) != nil {
                let segments = key.split(separator: "/", omittingEmptySubsequences: false)
                try require(!segments.contains(".") && !segments.contains(".."), "the key \(key) was accepted with a . or .. segment")
            }
        },
    ]
}

/// A request as fuzz bytes: `METHOD TARGET` on the first line, `Name: value` header lines, an empty line, the body.
struct FuzzRequest {
    let head: S3RequestHead
    let body: [UInt8]

    static func parse(_ input: [UInt8]) -> FuzzRequest? {
        let text = String(decoding: input, as: UTF8.self)
        let (top, body) = text.range(of: "\n\n").map { (String(text[..<$0.lowerBound]), Array(text[$0.upperBound...].utf8)) } ?? (text, [])
        let lines = top.split(separator: "\n", omittingEmptySubsequences: false)
        guard let first = lines.first else { return nil }
        let parts = first.split(separator: " ", maxSplits: 1)
        guard parts.count == 2 else { return nil }
        let target = String(parts[1])
        let (path, query) = target.firstIndex(of: "?").map { (String(target[..<$0]), String(target[target.index(after: $0)...])) }
            ?? (target, "")
        let headers: [(name: String, value: String)] = lines.dropFirst().compactMap { line in
            guard let colon = line.firstIndex(of: ":") else { return nil }
            return (String(line[..<colon]), String(line[line.index(after: colon)...]).trimmingCharacters(in: .whitespaces))
        }
        return FuzzRequest(head: S3RequestHead(method: String(parts[0]), rawPath: path, rawQuery: query, headers: headers), body: body)
    }

    /// The header names the request says it signed (header or presigned form).
    static func signedHeaders(_ head: S3RequestHead) -> [String] {
        let text = head.header("authorization") ?? ""
        if let range = text.range(of: "SignedHeaders=") {
            return text[range.upperBound...].prefix { $0 != "," }.split(separator: ";").map(String.init)
        }
        let query = (try? head.query("X-Amz-SignedHeaders")) ?? nil
        return (query ?? "").split(separator: ";").map(String.init)
    }
}

/// Counts the errors an XML parse reports.
final class ParseErrors: NSObject, XMLParserDelegate {
    var count = 0

    func parser(_ parser: XMLParser, parseErrorOccurred parseError: any Error) { count += 1 }
    func parser(_ parser: XMLParser, validationErrorOccurred validationError: any Error) { count += 1 }
}
