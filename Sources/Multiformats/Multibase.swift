/// Multibase encodings used by Storacha: base32 lower (`b`), base58btc (`z`), base64 (`m`),
/// base64 with padding (`M`) and base64url (`u`).
public enum Multibase: Character, Sendable, CaseIterable {
    /// RFC 4648 base32, lower case, no padding.
    case base32 = "b"
    /// Bitcoin-alphabet base58.
    case base58btc = "z"
    /// RFC 4648 base64, no padding.
    case base64 = "m"
    /// RFC 4648 base64 with padding.
    case base64pad = "M"
    /// RFC 4648 base64url, no padding.
    case base64url = "u"

    /// Errors decoding multibase text.
    public enum Error: Swift.Error, Equatable, Sendable, CustomStringConvertible {
        /// The string is empty.
        case empty
        /// The prefix character is not a supported multibase.
        case unsupportedPrefix(Character)
        /// A character at `position` is not in the alphabet.
        case invalidCharacter(Character, position: Int)
        /// The text has an impossible length or non-zero trailing bits.
        case invalidLength

        public var description: String {
            switch self {
            case .empty: return "empty multibase string"
            case .unsupportedPrefix(let c): return "unsupported multibase prefix '\(c)'"
            case .invalidCharacter(let c, let p): return "invalid character '\(c)' at position \(p)"
            case .invalidLength: return "invalid multibase length or padding"
            }
        }
    }

    /// Encodes `bytes` with the prefix character.
    public func encode(_ bytes: some Collection<UInt8>) -> String {
        String(rawValue) + encodeBare(bytes)
    }

    /// Encodes `bytes` without the prefix character.
    public func encodeBare(_ bytes: some Collection<UInt8>) -> String {
        switch self {
        case .base32: return Base32.encode(bytes)
        case .base58btc: return Base58.encode(Array(bytes))
        case .base64: return Base64.encode(bytes, alphabet: Base64.standard, pad: false)
        case .base64pad: return Base64.encode(bytes, alphabet: Base64.standard, pad: true)
        case .base64url: return Base64.encode(bytes, alphabet: Base64.url, pad: false)
        }
    }

    /// Decodes text without its prefix character.
    public func decodeBare(_ text: Substring) throws(Multibase.Error) -> [UInt8] {
        switch self {
        case .base32: return try Base32.decode(text)
        case .base58btc: return try Base58.decode(text)
        case .base64: return try Base64.decode(text, alphabet: Base64.standard, pad: false)
        case .base64pad: return try Base64.decode(text, alphabet: Base64.standard, pad: true)
        case .base64url: return try Base64.decode(text, alphabet: Base64.url, pad: false)
        }
    }

    /// Decodes prefixed multibase text.
    public static func decode(_ text: String) throws(Multibase.Error) -> (base: Multibase, bytes: [UInt8]) {
        guard let first = text.first else { throw .empty }
        guard let base = Multibase(rawValue: first) else { throw .unsupportedPrefix(first) }
        return (base, try base.decodeBare(text.dropFirst()))
    }
}

/// RFC 4648 base32, lower case, unpadded (accepts upper case on input).
enum Base32 {
    static let alphabet = Array("abcdefghijklmnopqrstuvwxyz234567".utf8)

    static func encode(_ bytes: some Collection<UInt8>) -> String {
        var out: [UInt8] = []
        out.reserveCapacity((bytes.count * 8 + 4) / 5)
        var buffer: UInt32 = 0
        var bits = 0
        for b in bytes {
            buffer = (buffer << 8) | UInt32(b)
            bits += 8
            while bits >= 5 {
                bits -= 5
                out.append(alphabet[Int((buffer >> UInt32(bits)) & 31)])
            }
        }
        if bits > 0 { out.append(alphabet[Int((buffer << UInt32(5 - bits)) & 31)]) }
        return String(decoding: out, as: UTF8.self)
    }

    static func decode(_ text: Substring) throws(Multibase.Error) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(text.utf8.count * 5 / 8)
        var buffer: UInt32 = 0
        var bits = 0
        for (i, c) in text.utf8.enumerated() {
            let v: UInt32
            switch c {
            case UInt8(ascii: "a")...UInt8(ascii: "z"): v = UInt32(c - UInt8(ascii: "a"))
            case UInt8(ascii: "A")...UInt8(ascii: "Z"): v = UInt32(c - UInt8(ascii: "A"))
            case UInt8(ascii: "2")...UInt8(ascii: "7"): v = UInt32(c - UInt8(ascii: "2") + 26)
            default: throw .invalidCharacter(Character(Unicode.Scalar(c)), position: i + 1)
            }
            buffer = (buffer << 5) | v
            bits += 5
            if bits >= 8 {
                bits -= 8
                out.append(UInt8(truncatingIfNeeded: buffer >> UInt32(bits)))
            }
        }
        if bits >= 5 || (buffer & ((1 << UInt32(bits)) - 1)) != 0 { throw .invalidLength }
        return out
    }
}

/// Base58 with the Bitcoin alphabet.
enum Base58 {
    static let alphabet = Array("123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz".utf8)
    static let reverse: [Int8] = {
        var table = [Int8](repeating: -1, count: 256)
        for (i, c) in alphabet.enumerated() { table[Int(c)] = Int8(i) }
        return table
    }()

    static func encode(_ bytes: [UInt8]) -> String {
        let zeros = bytes.prefix { $0 == 0 }.count
        var digits: [UInt8] = []  // base58 digits, little-endian
        digits.reserveCapacity(bytes.count * 138 / 100 + 1)
        for b in bytes[zeros...] {
            var carry = Int(b)
            for j in digits.indices {
                carry += Int(digits[j]) << 8
                digits[j] = UInt8(carry % 58)
                carry /= 58
            }
            while carry > 0 {
                digits.append(UInt8(carry % 58))
                carry /= 58
            }
        }
        var out = [UInt8](repeating: alphabet[0], count: zeros)
        out.append(contentsOf: digits.reversed().map { alphabet[Int($0)] })
        return String(decoding: out, as: UTF8.self)
    }

    static func decode(_ text: Substring) throws(Multibase.Error) -> [UInt8] {
        let chars = Array(text.utf8)
        let zeros = chars.prefix { $0 == alphabet[0] }.count
        var bytes: [UInt8] = []  // little-endian
        for (i, c) in chars.enumerated().dropFirst(zeros) {
            let v = reverse[Int(c)]
            guard v >= 0 else { throw .invalidCharacter(Character(Unicode.Scalar(c)), position: i + 1) }
            var carry = Int(v)
            for j in bytes.indices {
                carry += Int(bytes[j]) * 58
                bytes[j] = UInt8(carry & 0xff)
                carry >>= 8
            }
            while carry > 0 {
                bytes.append(UInt8(carry & 0xff))
                carry >>= 8
            }
        }
        return [UInt8](repeating: 0, count: zeros) + bytes.reversed()
    }
}

/// RFC 4648 base64 and base64url.
public enum Base64 {
    static let standard = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)
    static let url = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)

    /// Standard-alphabet base64 without padding (the DAG-JSON bytes form).
    public static func encodeUnpadded(_ bytes: some Collection<UInt8>) -> String {
        encode(bytes, alphabet: standard, pad: false)
    }

    /// Decodes standard-alphabet base64; padding is optional.
    public static func decodeLenient(_ text: Substring) throws(Multibase.Error) -> [UInt8] {
        var t = text
        while t.last == "=" { t = t.dropLast() }
        return try decode(t, alphabet: standard, pad: false)
    }

    static func encode(_ bytes: some Collection<UInt8>, alphabet: [UInt8], pad: Bool) -> String {
        var out: [UInt8] = []
        out.reserveCapacity((bytes.count + 2) / 3 * 4)
        var it = bytes.makeIterator()
        while let b0 = it.next() {
            let b1 = it.next()
            let b2 = it.next()
            let n = (UInt32(b0) << 16) | (UInt32(b1 ?? 0) << 8) | UInt32(b2 ?? 0)
            out.append(alphabet[Int((n >> 18) & 63)])
            out.append(alphabet[Int((n >> 12) & 63)])
            if b1 != nil { out.append(alphabet[Int((n >> 6) & 63)]) } else if pad { out.append(UInt8(ascii: "=")) }
            if b2 != nil { out.append(alphabet[Int(n & 63)]) } else if pad { out.append(UInt8(ascii: "=")) }
            if b2 == nil { break }
        }
        return String(decoding: out, as: UTF8.self)
    }

    static func decode(_ text: Substring, alphabet: [UInt8], pad: Bool) throws(Multibase.Error) -> [UInt8] {
        var table = [Int8](repeating: -1, count: 256)
        for (i, c) in alphabet.enumerated() { table[Int(c)] = Int8(i) }
        var chars = Array(text.utf8)
        if pad {
            guard chars.count % 4 == 0 else { throw .invalidLength }
            var padCount = 0
            while chars.last == UInt8(ascii: "="), padCount < 2 { chars.removeLast(); padCount += 1 }
        }
        if chars.count % 4 == 1 { throw .invalidLength }
        var out: [UInt8] = []
        out.reserveCapacity(chars.count * 3 / 4)
        var buffer: UInt32 = 0
        var bits = 0
        for (i, c) in chars.enumerated() {
            let v = table[Int(c)]
            guard v >= 0 else { throw .invalidCharacter(Character(Unicode.Scalar(c)), position: i + 1) }
            buffer = (buffer << 6) | UInt32(v)
            bits += 6
            if bits >= 8 {
                bits -= 8
                out.append(UInt8(truncatingIfNeeded: buffer >> UInt32(bits)))
            }
        }
        if (buffer & ((1 << UInt32(bits)) - 1)) != 0 { throw .invalidLength }
        return out
    }
}
