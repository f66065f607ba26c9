import Foundation

/// The parts of an HTTP request that S3 routing and signing look at, as they were received: the path and
/// query still percent-encoded (signatures cover the bytes sent), header names in lower case.
public struct S3RequestHead: Sendable {
    /// `GET`, `PUT`, …
    public var method: String
    /// The path as sent, percent-encoded, starting with `/`.
    public var rawPath: String
    /// The query string as sent, without `?`, percent-encoded.
    public var rawQuery: String
    /// Header fields in the order received, names in lower case (a name may repeat).
    public var headers: [(name: String, value: String)]

    /// A request head.
    public init(method: String, rawPath: String, rawQuery: String = "", headers: [(name: String, value: String)]) {
        self.method = method
        self.rawPath = rawPath
        self.rawQuery = rawQuery
        self.headers = headers.map { (name: S3RequestHead.lowercased($0.name), value: $0.value) }
    }

    /// The value of header `name` (several fields joined with `,`, as HTTP allows), or nil.
    public func header(_ name: String) -> String? {
        let key = S3RequestHead.lowercased(name)
        var found: String?
        for field in headers where field.name == key {
            found = found.map { $0 + "," + field.value } ?? field.value
        }
        return found
    }

    /// `name` in lower case; as it is when it has no upper-case ASCII letter (nearly always: HTTP servers give
    /// names in lower case, and the code asks for them so), without the allocation `lowercased()` costs.
    static func lowercased(_ name: String) -> String {
        name.utf8.allSatisfy { $0 < 0x80 && !($0 >= 0x41 && $0 <= 0x5A) } ? name : name.lowercased()
    }

    /// The query parameters, percent-decoded, in the order sent (`?uploads` gives `("uploads", "")`);
    /// throws on malformed percent-encoding.
    public func queryItems() throws(S3Error) -> [(name: String, value: String)] {
        var items: [(name: String, value: String)] = []
        for pair in rawQuery.split(separator: "&", omittingEmptySubsequences: true) {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard let name = PercentEncoding.decode(parts[0]), let value = PercentEncoding.decode(parts.count > 1 ? parts[1] : "") else {
                throw S3Error.invalidRequest("the query string is not valid percent-encoding")
            }
            items.append((name: name, value: value))
        }
        return items
    }

    /// The first value of query parameter `name`, decoded.
    public func query(_ name: String) throws(S3Error) -> String? {
        try queryItems().first { $0.name == name }?.value
    }
}

/// RFC 3986 percent-encoding as SigV4 uses it.
enum PercentEncoding {
    /// Decodes `%XX` sequences (a `+` stays a `+`); nil when a sequence is malformed or the bytes are not UTF-8.
    static func decode(_ text: Substring) -> String? {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(text.utf8.count)
        var iterator = text.utf8.makeIterator()
        while let byte = iterator.next() {
            guard byte == UInt8(ascii: "%") else { bytes.append(byte); continue }
            guard let high = iterator.next().flatMap(hexValue), let low = iterator.next().flatMap(hexValue) else { return nil }
            bytes.append(high << 4 | low)
        }
        return String(validating: bytes, as: UTF8.self)
    }

    /// Encodes every byte but the unreserved ones (`A-Z a-z 0-9 - _ . ~`); `/` too unless `keepSlash`.
    static func encode(_ text: String, keepSlash: Bool = false) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for byte in text.utf8 {
            if isUnreserved(byte) || (keepSlash && byte == UInt8(ascii: "/")) {
                out.unicodeScalars.append(Unicode.Scalar(byte))
            } else {
                out += "%" + String(hexDigits[Int(byte >> 4)]) + String(hexDigits[Int(byte & 0xf)])
            }
        }
        return out
    }

    static let hexDigits = Array("0123456789ABCDEF")

    static func isUnreserved(_ b: UInt8) -> Bool {
        (b >= 0x41 && b <= 0x5a) || (b >= 0x61 && b <= 0x7a) || (b >= 0x30 && b <= 0x39) || b == 0x2d || b == 0x5f || b == 0x2e || b == 0x7e
    }

    static func hexValue(_ c: UInt8) -> UInt8? {
        switch c {
        case 0x30...0x39: return c - 0x30
        case 0x41...0x46: return c - 0x41 + 10
        case 0x61...0x66: return c - 0x61 + 10
        default: return nil
        }
    }
}
