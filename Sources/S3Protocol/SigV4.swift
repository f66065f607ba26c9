import CivilTime
import Crypto
import Foundation

/// What a verified request may carry as its body, as its signature says.
public enum SignedPayload: Sendable, Equatable {
    /// `UNSIGNED-PAYLOAD`: nothing to check.
    case unsigned
    /// The hex SHA-256 the body must have (checked while it streams).
    case sha256(String)
    /// `STREAMING-AWS4-HMAC-SHA256-PAYLOAD`: an `aws-chunked` body whose chunks are signed in a chain.
    case signedChunks(ChunkSigner)
    /// `STREAMING-UNSIGNED-PAYLOAD-TRAILER`: an `aws-chunked` body with unsigned chunks and a trailer.
    case unsignedChunks
}

/// A request whose signature verified.
public struct VerifiedRequest: Sendable, Equatable {
    /// The access key that signed it.
    public let accessKey: String
    /// How the body is covered.
    public let payload: SignedPayload
}

/// Signs the chunks of an `aws-chunked` body: each chunk's signature covers the previous one.
public struct ChunkSigner: Sendable, Equatable {
    let signingKey: [UInt8]
    let amzDate: String
    let scope: String
    /// The request's own signature, which the first chunk's signature follows.
    public let seedSignature: String

    /// The signature of a chunk with SHA-256 `chunkHash` (hex) after the chunk signed `previous`.
    public func signature(previous: String, chunkHash: String) -> String {
        let toSign = ["AWS4-HMAC-SHA256-PAYLOAD", amzDate, scope, previous, SigV4.emptyHash, chunkHash].joined(separator: "\n")
        return SigV4.hex(SigV4.hmac(signingKey, Array(toSign.utf8)))
    }
}

/// AWS Signature Version 4 verification for S3 requests, in both forms: the `Authorization` header and the
/// presigned query string (`X-Amz-Signature`). Any region in the credential scope is accepted (it is signed,
/// so it cannot be changed); the service must be `s3`.
public struct SigV4: Sendable {
    /// Finds the secret key of an access key (nil: unknown key).
    public let secret: @Sendable (String) -> String?
    /// How far the request's time may be from the server's (S3: 15 minutes).
    public var allowedSkew: TimeInterval = 15 * 60

    /// Signing keys derived lately (they change once a day per access key and region).
    private let keys = SigningKeys()

    /// A verifier that looks secrets up with `secret`.
    public init(secret: @escaping @Sendable (String) -> String?) { self.secret = secret }

    static let algorithm = "AWS4-HMAC-SHA256"
    static let emptyHash = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    /// Longest lifetime of a presigned URL (seven days).
    static let maxExpires = 604_800

    /// Verifies `head` at time `now`; throws the S3 error a client should see.
    public func verify(_ head: S3RequestHead, now: Date = Date()) throws(S3Error) -> VerifiedRequest {
        let query = try head.queryItems()
        if query.contains(where: { $0.name == "X-Amz-Signature" }) {
            return try verifyPresigned(head, query: query, now: now)
        }
        guard let authorization = head.header("authorization") else {
            if query.contains(where: { $0.name == "AWSAccessKeyId" || $0.name == "Signature" }) {
                throw S3Error.accessDenied("only AWS Signature Version 4 is supported: configure the client for s3v4 presigned URLs")
            }
            throw S3Error.accessDenied("Access Denied: the request is not signed")
        }
        guard authorization.hasPrefix(SigV4.algorithm + " ") else {
            throw S3Error.authorizationHeaderMalformed("only AWS Signature Version 4 (AWS4-HMAC-SHA256) is supported: configure the client for s3v4")
        }
        var (credential, signedList, signature): (String?, String?, String?)
        for part in SigV4.fields(Substring(authorization.utf8.dropFirst(SigV4.algorithm.utf8.count + 1)), UInt8(ascii: ",")) {
            let field = SigV4.trimmed(part)
            guard let equals = field.utf8.firstIndex(of: UInt8(ascii: "=")) else { continue }
            let (name, value) = (field[..<equals], String(field[field.utf8.index(after: equals)...]))
            // A field given twice is ambiguous (which one was signed?): refused, not resolved either way.
            func once(_ slot: inout String?) throws(S3Error) {
                guard slot == nil else {
                    throw S3Error.authorizationHeaderMalformed("the Authorization header gives \(name) more than once")
                }
                slot = value
            }
            switch name {
            case "Credential": try once(&credential)
            case "SignedHeaders": try once(&signedList)
            case "Signature": try once(&signature)
            default: break
            }
        }
        guard let credential, let signedList, let signature else {
            throw S3Error.authorizationHeaderMalformed("the Authorization header needs Credential, SignedHeaders and Signature")
        }
        guard let amzDate = head.header("x-amz-date") else {
            throw S3Error.accessDenied("AWS authentication requires a valid x-amz-date header")
        }
        guard let payloadHash = head.header("x-amz-content-sha256") else {
            throw S3Error.invalidRequest("Missing required header for this request: x-amz-content-sha256")
        }
        let scope = try Scope(credential, amzDate: amzDate, malformed: S3Error.authorizationHeaderMalformed)
        let time = try SigV4.parse(amzDate)
        guard abs(time.timeIntervalSince(now)) <= allowedSkew else { throw S3Error.requestTimeTooSkewed() }
        let signed = SigV4.fields(Substring(signedList), UInt8(ascii: ";")).filter { !$0.isEmpty }.map(String.init)
        let key = try signingKey(scope)
        let canonical = try SigV4.canonicalRequest(head, query: query, signedHeaders: signed, payloadHash: payloadHash)
        try SigV4.check(signature, expected: SigV4.signature(key: key, amzDate: amzDate, scope: scope.text, canonical: canonical))
        let payload: SignedPayload
        switch payloadHash {
        case "UNSIGNED-PAYLOAD": payload = .unsigned
        case "STREAMING-AWS4-HMAC-SHA256-PAYLOAD":
            payload = .signedChunks(ChunkSigner(signingKey: key, amzDate: amzDate, scope: scope.text, seedSignature: signature))
        case "STREAMING-UNSIGNED-PAYLOAD-TRAILER": payload = .unsignedChunks
        default:
            guard payloadHash.utf8.count == 64, payloadHash.utf8.allSatisfy({ SigV4.isHexDigit($0) }) else {
                throw S3Error.invalidRequest("x-amz-content-sha256 must be UNSIGNED-PAYLOAD, a streaming mode or a hex SHA-256")
            }
            payload = .sha256(payloadHash.lowercased())
        }
        return VerifiedRequest(accessKey: scope.accessKey, payload: payload)
    }

    func verifyPresigned(_ head: S3RequestHead, query: [(name: String, value: String)], now: Date) throws(S3Error) -> VerifiedRequest {
        func value(_ name: String) throws(S3Error) -> String {
            let given = query.filter { $0.name == name }
            guard let v = given.first?.value else {
                throw S3Error.authorizationQueryParametersError("Query-string authentication requires the \(name) parameter")
            }
            guard given.count == 1 else {
                throw S3Error.authorizationQueryParametersError("Query-string authentication gives \(name) more than once")
            }
            return v
        }
        guard try value("X-Amz-Algorithm") == SigV4.algorithm else {
            throw S3Error.authorizationQueryParametersError("X-Amz-Algorithm only supports \"AWS4-HMAC-SHA256\"")
        }
        let amzDate = try value("X-Amz-Date")
        let scope = try Scope(try value("X-Amz-Credential"), amzDate: amzDate, malformed: S3Error.authorizationQueryParametersError)
        guard let expires = Int(try value("X-Amz-Expires")), expires >= 0, expires <= SigV4.maxExpires else {
            throw S3Error.authorizationQueryParametersError("X-Amz-Expires must be between 0 and \(SigV4.maxExpires) seconds")
        }
        let time = try SigV4.parse(amzDate)
        guard time.timeIntervalSince(now) <= allowedSkew else { throw S3Error.requestTimeTooSkewed() }
        guard now.timeIntervalSince(time) <= Double(expires) else { throw S3Error.accessDenied("Request has expired") }
        let signature = try value("X-Amz-Signature")
        let signed = try value("X-Amz-SignedHeaders").split(separator: ";").map(String.init)
        let payloadHash = query.first { $0.name == "X-Amz-Content-Sha256" }?.value ?? "UNSIGNED-PAYLOAD"
        let key = try signingKey(scope)
        let unsignedQuery = query.filter { $0.name != "X-Amz-Signature" }
        let canonical = try SigV4.canonicalRequest(head, query: unsignedQuery, signedHeaders: signed, payloadHash: payloadHash)
        try SigV4.check(signature, expected: SigV4.signature(key: key, amzDate: amzDate, scope: scope.text, canonical: canonical))
        return VerifiedRequest(accessKey: scope.accessKey, payload: payloadHash == "UNSIGNED-PAYLOAD" ? .unsigned : .sha256(payloadHash.lowercased()))
    }

    /// The credential scope `KEY/yyyymmdd/region/s3/aws4_request`.
    struct Scope {
        let accessKey: String
        let date: String
        let region: String
        var text: String { "\(date)/\(region)/s3/aws4_request" }

        init(_ credential: String, amzDate: String, malformed: (String) -> S3Error) throws(S3Error) {
            let parts = SigV4.fields(Substring(credential), UInt8(ascii: "/")).map(String.init)
            guard parts.count == 5, parts[4] == "aws4_request", !parts[0].isEmpty else {
                throw malformed("the credential must be ACCESS_KEY/DATE/REGION/s3/aws4_request")
            }
            guard parts[3] == "s3" else { throw malformed("the credential's service must be s3, not \(parts[3])") }
            guard amzDate.utf8.starts(with: parts[1].utf8), parts[1].utf8.count == 8 else {
                throw malformed("the credential's date \(parts[1]) is not that of the request (\(amzDate))")
            }
            accessKey = parts[0]
            date = parts[1]
            region = parts[2]
        }
    }

    func signingKey(_ scope: Scope) throws(S3Error) -> [UInt8] {
        guard let secret = secret(scope.accessKey) else { throw S3Error.invalidAccessKeyId(scope.accessKey) }
        return keys.key(secret: secret, date: scope.date, region: scope.region) {
            var key = SigV4.hmac(Array(("AWS4" + secret).utf8), Array(scope.date.utf8))
            key = SigV4.hmac(key, Array(scope.region.utf8))
            key = SigV4.hmac(key, Array("s3".utf8))
            return SigV4.hmac(key, Array("aws4_request".utf8))
        }
    }

    /// The canonical request of SigV4 (method, URI, query, headers, signed header list, payload hash), as the
    /// bytes its hash is taken of.
    static func canonicalRequest(_ head: S3RequestHead, query: [(name: String, value: String)], signedHeaders: [String],
                                 payloadHash: String) throws(S3Error) -> [UInt8] {
        guard !signedHeaders.isEmpty, signedHeaders.contains("host") else {
            throw S3Error.accessDenied("the signature must cover the host header")
        }
        // Headers sent but not signed could change what the request does (metadata, copy source, ACLs).
        for field in head.headers where field.name.utf8.starts(with: "x-amz-".utf8) && !signedHeaders.contains(field.name) {
            throw S3Error.accessDenied("There were headers present in the request which were not signed: \(field.name)")
        }
        let newline = UInt8(ascii: "\n")
        var out: [UInt8] = []
        out.reserveCapacity(1024)
        out += head.method.utf8
        out.append(newline)
        out += (head.rawPath.isEmpty ? "/" : head.rawPath).utf8
        out.append(newline)
        if !query.isEmpty {
            // Encoded names and values are ASCII, so String order is the byte order SigV4 wants.
            let pairs: [(String, String)] = query.map { item in (PercentEncoding.encode(item.name), PercentEncoding.encode(item.value)) }
            let sorted = pairs.sorted { (a: (String, String), b: (String, String)) -> Bool in a.0 == b.0 ? a.1 < b.1 : a.0 < b.0 }
            for (i, pair) in sorted.enumerated() {
                if i > 0 { out.append(UInt8(ascii: "&")) }
                out += pair.0.utf8
                out.append(UInt8(ascii: "="))
                out += pair.1.utf8
            }
        }
        out.append(newline)
        for name in signedHeaders {
            guard let value = head.header(name) else { throw S3Error.accessDenied("the signed header \(name) is missing") }
            out += name.utf8
            out.append(UInt8(ascii: ":"))
            appendCanonicalValue(value, to: &out)
            out.append(newline)
        }
        out.append(newline)
        for (i, name) in signedHeaders.enumerated() {
            if i > 0 { out.append(UInt8(ascii: ";")) }
            out += name.utf8
        }
        out.append(newline)
        out += payloadHash.utf8
        return out
    }

    /// The pieces of `text` between `separator` bytes (empty pieces kept), split on bytes, not characters.
    static func fields(_ text: Substring, _ separator: UInt8) -> [Substring] {
        let bytes = text.utf8
        var out: [Substring] = []
        var start = bytes.startIndex
        var i = start
        while i < bytes.endIndex {
            if bytes[i] == separator {
                out.append(Substring(bytes[start..<i]))
                start = bytes.index(after: i)
            }
            i = bytes.index(after: i)
        }
        out.append(Substring(bytes[start..<bytes.endIndex]))
        return out
    }

    static func isHexDigit(_ c: UInt8) -> Bool {
        (0x30...0x39).contains(c) || (0x41...0x46).contains(c) || (0x61...0x66).contains(c)
    }

    /// Appends a header value trimmed, with runs of spaces collapsed to one.
    static func appendCanonicalValue(_ value: String, to out: inout [UInt8]) {
        let bytes = value.utf8
        // Nearly every value has no space or tab to trim or collapse: copied whole.
        if !bytes.contains(where: { $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: "\t") }) {
            out += bytes
            return
        }
        var lastWasSpace = false
        for b in trimmed(Substring(value)).utf8 {
            if b == UInt8(ascii: " ") {
                if !lastWasSpace { out.append(b) }
                lastWasSpace = true
            } else {
                out.append(b)
                lastWasSpace = false
            }
        }
    }

    /// `text` without leading and trailing spaces and tabs.
    static func trimmed(_ text: Substring) -> Substring {
        let bytes = text.utf8
        func isSpace(_ c: UInt8) -> Bool { c == UInt8(ascii: " ") || c == UInt8(ascii: "\t") }
        var (start, end) = (bytes.startIndex, bytes.endIndex)
        while start < end, isSpace(bytes[start]) { start = bytes.index(after: start) }
        while end > start, isSpace(bytes[bytes.index(before: end)]) { end = bytes.index(before: end) }
        return Substring(bytes[start..<end])
    }

    static func signature(key: [UInt8], amzDate: String, scope: String, canonical: [UInt8]) -> String {
        var toSign: [UInt8] = []
        toSign.reserveCapacity(160)
        toSign += algorithm.utf8
        toSign.append(UInt8(ascii: "\n"))
        toSign += amzDate.utf8
        toSign.append(UInt8(ascii: "\n"))
        toSign += scope.utf8
        toSign.append(UInt8(ascii: "\n"))
        appendHex(SHA256.hash(data: canonical), to: &toSign)
        return hex(hmac(key, toSign))
    }

    /// Compares signatures (hex, either case) in constant time.
    static func check(_ given: String, expected: String) throws(S3Error) {
        let (a, b) = (given.utf8, expected.utf8)
        var difference = UInt8(a.count == b.count ? 0 : 1)
        // ASCII letters differ from their lower case by 0x20 only.
        for (x, y) in zip(a, b) { difference |= (x | (x >= 0x41 && x <= 0x5A ? 0x20 : 0)) ^ y }
        guard difference == 0 else {
            throw S3Error.signatureDoesNotMatch(
                "The request signature we calculated does not match the signature you provided. Check your key and signing method.")
        }
    }

    /// `yyyyMMdd'T'HHmmss'Z'` as a date.
    static func parse(_ amzDate: String) throws(S3Error) -> Date {
        guard let time = UTCDateTime(amzDate: amzDate) else {
            throw S3Error.accessDenied("x-amz-date must be in the form yyyyMMddTHHmmssZ")
        }
        return time.date
    }

    static func hmac(_ key: [UInt8], _ message: [UInt8]) -> [UInt8] {
        Array(HMAC<SHA256>.authenticationCode(for: message, using: SymmetricKey(data: key)))
    }

    /// Lower-case hex of `bytes`.
    public static func hex<Bytes: Sequence>(_ bytes: Bytes) -> String where Bytes.Element == UInt8 {
        var out = [UInt8]()
        out.reserveCapacity(bytes.underestimatedCount * 2)
        appendHex(bytes, to: &out)
        return String(decoding: out, as: UTF8.self)
    }

    static let hexDigits = Array("0123456789abcdef".utf8)

    /// Appends the lower-case hex of `bytes`.
    static func appendHex<Bytes: Sequence>(_ bytes: Bytes, to out: inout [UInt8]) where Bytes.Element == UInt8 {
        for b in bytes {
            out.append(hexDigits[Int(b >> 4)])
            out.append(hexDigits[Int(b & 0xf)])
        }
    }
}

/// A few signing keys, by secret, date and region, so that a client's requests do not derive the same key again.
final class SigningKeys: @unchecked Sendable {
    private let lock = NSLock()
    private var keys: [String: [UInt8]] = [:]

    func key(secret: String, date: String, region: String, derive: () -> [UInt8]) -> [UInt8] {
        let name = "\(date)/\(region)/\(secret)"
        if let key = lock.withLock({ keys[name] }) { return key }
        let key = derive()
        lock.withLock {
            if keys.count >= 64 { keys.removeAll() }
            keys[name] = key
        }
        return key
    }
}
