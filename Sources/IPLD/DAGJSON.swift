import Multiformats

/// DAG-JSON (multicodec 0x0129), byte-compatible with `@ipld/dag-json`.
public enum DAGJSON {
    /// Multicodec code.
    public static let code: UInt64 = 0x0129
    /// Deepest nesting of lists and maps the decoder accepts.
    public static let maxDepth = 256

    /// Encodes `value` with no whitespace and lexically sorted map keys.
    public static func encode(_ value: IPLDValue) throws(DAGJSONError) -> [UInt8] {
        var out: [UInt8] = []
        try encode(value, into: &out)
        return out
    }

    /// Encodes `value` to a `String`.
    public static func encodeString(_ value: IPLDValue) throws(DAGJSONError) -> String {
        String(decoding: try encode(value), as: UTF8.self)
    }

    static func append(_ s: String, to out: inout [UInt8]) { out.append(contentsOf: s.utf8) }

    /// Appends the encoding of `value` to `out`.
    public static func encode(_ value: IPLDValue, into out: inout [UInt8]) throws(DAGJSONError) {
        switch value {
        case .null: append("null", to: &out)
        case .bool(let b): append(b ? "true" : "false", to: &out)
        case .integer(let i): append(i.description, to: &out)
        case .float(let d):
            guard d.isFinite else { throw .nonFiniteFloat }
            var text = JSNumberFormat.string(d)
            if !text.contains(where: { $0 == "." || $0 == "e" || $0 == "E" }) { text += ".0" }
            append(text, to: &out)
        case .string(let s): appendQuoted(s, to: &out)
        case .bytes(let b):
            append("{\"/\":{\"bytes\":\"", to: &out)
            append(Base64.encodeUnpadded(b), to: &out)
            append("\"}}", to: &out)
        case .list(let items):
            out.append(UInt8(ascii: "["))
            for (i, item) in items.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                try encode(item, into: &out)
            }
            out.append(UInt8(ascii: "]"))
        case .map(let entries):
            out.append(UInt8(ascii: "{"))
            let keys = entries.keys.sorted { $0.utf16.lexicographicallyPrecedes($1.utf16) }
            for (i, key) in keys.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                appendQuoted(key, to: &out)
                out.append(UInt8(ascii: ":"))
                try encode(entries[key] ?? .null, into: &out)
            }
            out.append(UInt8(ascii: "}"))
        case .link(let cid):
            append("{\"/\":\"", to: &out)
            append(cid.description, to: &out)
            append("\"}", to: &out)
        }
    }

    static let hex = Array("0123456789abcdef".utf8)

    /// Writes a string the way `JSON.stringify` does.
    static func appendQuoted(_ s: String, to out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        for b in s.utf8 {
            switch b {
            case UInt8(ascii: "\""): out.append(UInt8(ascii: "\\")); out.append(b)
            case UInt8(ascii: "\\"): out.append(UInt8(ascii: "\\")); out.append(b)
            case 0x08: append("\\b", to: &out)
            case 0x09: append("\\t", to: &out)
            case 0x0a: append("\\n", to: &out)
            case 0x0c: append("\\f", to: &out)
            case 0x0d: append("\\r", to: &out)
            case 0..<0x20:
                append("\\u00", to: &out)
                out.append(hex[Int(b >> 4)]); out.append(hex[Int(b & 15)])
            default: out.append(b)
            }
        }
        out.append(UInt8(ascii: "\""))
    }

    /// Decodes one DAG-JSON value (surrounding whitespace allowed).
    public static func decode(_ bytes: some Collection<UInt8>) throws(DAGJSONError) -> IPLDValue {
        var p = Parser(bytes: Array(bytes))
        p.skipWhitespace()
        let v = try p.value(depth: 0)
        p.skipWhitespace()
        guard p.offset == p.bytes.count else { throw .unexpectedCharacter(offset: p.offset) }
        return v
    }

    /// Reads the JSON string literal whose opening quote is at `offset` in `bytes`, with the DAG-JSON
    /// rules (strict escapes, surrogate pairs, valid UTF-8, no control characters); returns the string
    /// and the offset just after its closing quote. Other JSON readers share it.
    public static func string(in bytes: [UInt8], at offset: Int) throws(DAGJSONError) -> (String, Int) {
        var parser = Parser(bytes: bytes)
        parser.offset = offset
        let s = try parser.string()
        return (s, parser.offset)
    }

    struct Parser {
        let bytes: [UInt8]
        var offset = 0

        mutating func skipWhitespace() {
            while offset < bytes.count, [0x20, 0x09, 0x0a, 0x0d].contains(bytes[offset]) { offset += 1 }
        }

        func peek() throws(DAGJSONError) -> UInt8 {
            guard offset < bytes.count else { throw .truncated(offset: offset) }
            return bytes[offset]
        }

        mutating func expect(_ literal: String) throws(DAGJSONError) {
            for c in literal.utf8 {
                guard offset < bytes.count else { throw .truncated(offset: offset) }
                guard bytes[offset] == c else { throw .unexpectedCharacter(offset: offset) }
                offset += 1
            }
        }

        mutating func value(depth: Int) throws(DAGJSONError) -> IPLDValue {
            let c = try peek()
            switch c {
            case UInt8(ascii: "n"): try expect("null"); return .null
            case UInt8(ascii: "t"): try expect("true"); return .bool(true)
            case UInt8(ascii: "f"): try expect("false"); return .bool(false)
            case UInt8(ascii: "\""): return .string(try string())
            case UInt8(ascii: "["):
                guard depth < DAGJSON.maxDepth else { throw .nestingTooDeep(offset: offset) }
                offset += 1
                var items: [IPLDValue] = []
                skipWhitespace()
                if try peek() == UInt8(ascii: "]") { offset += 1; return .list(items) }
                while true {
                    skipWhitespace()
                    items.append(try value(depth: depth + 1))
                    skipWhitespace()
                    let d = try peek()
                    offset += 1
                    if d == UInt8(ascii: "]") { return .list(items) }
                    guard d == UInt8(ascii: ",") else { throw .unexpectedCharacter(offset: offset - 1) }
                }
            case UInt8(ascii: "{"):
                guard depth < DAGJSON.maxDepth else { throw .nestingTooDeep(offset: offset) }
                let start = offset
                offset += 1
                var map: [String: IPLDValue] = [:]
                skipWhitespace()
                if try peek() == UInt8(ascii: "}") { offset += 1; return .map(map) }
                while true {
                    skipWhitespace()
                    guard try peek() == UInt8(ascii: "\"") else { throw .unexpectedCharacter(offset: offset) }
                    let keyOffset = offset
                    let key = try string()
                    skipWhitespace()
                    try expect(":")
                    skipWhitespace()
                    let v = try value(depth: depth + 1)
                    guard map.updateValue(v, forKey: key) == nil else { throw .duplicateMapKey(key, offset: keyOffset) }
                    skipWhitespace()
                    let d = try peek()
                    offset += 1
                    if d == UInt8(ascii: "}") { break }
                    guard d == UInt8(ascii: ",") else { throw .unexpectedCharacter(offset: offset - 1) }
                }
                return try special(map, at: start)
            case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
                return try number()
            default:
                throw .unexpectedCharacter(offset: offset)
            }
        }

        /// Interprets the reserved `{"/": …}` forms.
        func special(_ map: [String: IPLDValue], at start: Int) throws(DAGJSONError) -> IPLDValue {
            guard let slash = map["/"] else { return .map(map) }
            if map.count == 1, case .string(let text) = slash {
                do { return .link(try CID(text)) } catch { throw .invalidCID(offset: start, reason: error.description) }
            }
            if map.count == 1, case .map(let inner) = slash, inner.count == 1, case .string(let b64)? = inner["bytes"] {
                do { return .bytes(try Base64.decodeLenient(Substring(b64))) } catch {
                    throw .invalidBytes(offset: start)
                }
            }
            throw .invalidReservedForm(offset: start)
        }

        mutating func number() throws(DAGJSONError) -> IPLDValue {
            let start = offset
            var isFloat = false
            if bytes[offset] == UInt8(ascii: "-") { offset += 1 }
            let intStart = offset
            while offset < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[offset]) { offset += 1 }
            guard offset > intStart else { throw .invalidNumber(offset: start) }
            if bytes[intStart] == UInt8(ascii: "0") && offset - intStart > 1 { throw .invalidNumber(offset: start) }
            if offset < bytes.count, bytes[offset] == UInt8(ascii: ".") {
                isFloat = true
                offset += 1
                let fracStart = offset
                while offset < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[offset]) { offset += 1 }
                guard offset > fracStart else { throw .invalidNumber(offset: start) }
            }
            if offset < bytes.count, bytes[offset] == UInt8(ascii: "e") || bytes[offset] == UInt8(ascii: "E") {
                isFloat = true
                offset += 1
                if offset < bytes.count, bytes[offset] == UInt8(ascii: "+") || bytes[offset] == UInt8(ascii: "-") { offset += 1 }
                let expStart = offset
                while offset < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[offset]) { offset += 1 }
                guard offset > expStart else { throw .invalidNumber(offset: start) }
            }
            let text = String(decoding: bytes[start..<offset], as: UTF8.self)
            if isFloat {
                guard let d = Double(text), d.isFinite else { throw .invalidNumber(offset: start) }
                return .float(d)
            }
            guard let i = IPLDInteger(decimal: Substring(text)) else { throw .integerOutOfRange(offset: start) }
            return .integer(i)
        }

        mutating func hex4() throws(DAGJSONError) -> UInt16 {
            guard bytes.count - offset >= 4 else { throw .truncated(offset: offset) }
            var v: UInt16 = 0
            for _ in 0..<4 {
                let c = bytes[offset]
                let d: UInt16
                switch c {
                case UInt8(ascii: "0")...UInt8(ascii: "9"): d = UInt16(c - UInt8(ascii: "0"))
                case UInt8(ascii: "a")...UInt8(ascii: "f"): d = UInt16(c - UInt8(ascii: "a") + 10)
                case UInt8(ascii: "A")...UInt8(ascii: "F"): d = UInt16(c - UInt8(ascii: "A") + 10)
                default: throw .invalidEscape(offset: offset)
                }
                v = v << 4 | d
                offset += 1
            }
            return v
        }

        mutating func string() throws(DAGJSONError) -> String {
            let start = offset
            offset += 1  // opening quote
            var out: [UInt8] = []
            while true {
                guard offset < bytes.count else { throw .truncated(offset: offset) }
                let c = bytes[offset]
                offset += 1
                switch c {
                case UInt8(ascii: "\""):
                    let s = String(decoding: out, as: UTF8.self)
                    guard s.utf8.elementsEqual(out) else { throw .invalidUTF8(offset: start) }
                    return s
                case UInt8(ascii: "\\"):
                    guard offset < bytes.count else { throw .truncated(offset: offset) }
                    let e = bytes[offset]
                    offset += 1
                    switch e {
                    case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): out.append(e)
                    case UInt8(ascii: "b"): out.append(0x08)
                    case UInt8(ascii: "f"): out.append(0x0c)
                    case UInt8(ascii: "n"): out.append(0x0a)
                    case UInt8(ascii: "r"): out.append(0x0d)
                    case UInt8(ascii: "t"): out.append(0x09)
                    case UInt8(ascii: "u"):
                        let escapeStart = offset - 2
                        var scalar = UInt32(try hex4())
                        if (0xD800..<0xDC00).contains(scalar) {
                            guard bytes.count - offset >= 6, bytes[offset] == UInt8(ascii: "\\"), bytes[offset + 1] == UInt8(ascii: "u") else {
                                throw .invalidEscape(offset: escapeStart)
                            }
                            offset += 2
                            let low = UInt32(try hex4())
                            guard (0xDC00..<0xE000).contains(low) else { throw .invalidEscape(offset: escapeStart) }
                            scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                        }
                        guard let u = Unicode.Scalar(scalar) else { throw .invalidEscape(offset: escapeStart) }
                        out.append(contentsOf: Array(String(Character(u)).utf8))
                    default: throw .invalidEscape(offset: offset - 2)
                    }
                case 0..<0x20:
                    throw .unexpectedCharacter(offset: offset - 1)
                default:
                    out.append(c)
                }
            }
        }
    }
}

/// Why DAG-JSON text was rejected; offsets count bytes from the start.
public enum DAGJSONError: Error, Equatable, Sendable, CustomStringConvertible {
    case truncated(offset: Int)
    case unexpectedCharacter(offset: Int)
    case invalidNumber(offset: Int)
    case integerOutOfRange(offset: Int)
    case invalidEscape(offset: Int)
    case invalidUTF8(offset: Int)
    case duplicateMapKey(String, offset: Int)
    case invalidCID(offset: Int, reason: String)
    case invalidBytes(offset: Int)
    case invalidReservedForm(offset: Int)
    case nestingTooDeep(offset: Int)
    case nonFiniteFloat

    public var description: String {
        switch self {
        case .truncated(let o): return "DAG-JSON: input ends early at byte \(o)"
        case .unexpectedCharacter(let o): return "DAG-JSON: unexpected character at byte \(o)"
        case .invalidNumber(let o): return "DAG-JSON: malformed number at byte \(o)"
        case .integerOutOfRange(let o): return "DAG-JSON: integer at byte \(o) is outside [-2^64, 2^64-1]"
        case .invalidEscape(let o): return "DAG-JSON: invalid escape at byte \(o)"
        case .invalidUTF8(let o): return "DAG-JSON: string at byte \(o) is not valid UTF-8"
        case .duplicateMapKey(let k, let o): return "DAG-JSON: repeated map key \"\(k)\" at byte \(o)"
        case .invalidCID(let o, let r): return "DAG-JSON: invalid link at byte \(o): \(r)"
        case .invalidBytes(let o): return "DAG-JSON: invalid bytes form at byte \(o)"
        case .invalidReservedForm(let o): return "DAG-JSON: map at byte \(o) uses the reserved \"/\" key but is neither a link nor bytes"
        case .nestingTooDeep(let o): return "DAG-JSON: nesting deeper than \(DAGJSON.maxDepth) at byte \(o)"
        case .nonFiniteFloat: return "DAG-JSON: NaN and infinity cannot be encoded"
        }
    }
}

/// Formats doubles exactly as JavaScript's `Number.prototype.toString()`.
enum JSNumberFormat {
    static func string(_ d: Double) -> String {
        if d == 0 { return "0" }
        let negative = d < 0
        // Swift's description is the shortest round-trip form; extract digits and exponent from it.
        let text = "\(abs(d))"
        var mantissa = Substring(text)
        var exp10 = 0
        if let e = text.firstIndex(where: { $0 == "e" || $0 == "E" }) {
            mantissa = text[..<e]
            exp10 = Int(text[text.index(after: e)...]) ?? 0
        }
        var digits = ""
        var pointPos = 0
        if let dot = mantissa.firstIndex(of: ".") {
            let intPart = mantissa[..<dot]
            let frac = mantissa[mantissa.index(after: dot)...]
            digits = String(intPart) + String(frac)
            pointPos = intPart.count
        } else {
            digits = String(mantissa)
            pointPos = mantissa.count
        }
        // Strip leading zeros (adjusting the point) and trailing zeros.
        while digits.first == "0" && digits.count > 1 { digits.removeFirst(); pointPos -= 1 }
        while digits.last == "0" && digits.count > 1 { digits.removeLast() }
        let k = digits.count
        let n = pointPos + exp10  // value = 0.digits × 10^n
        var out = negative ? "-" : ""
        if k <= n && n <= 21 {
            out += digits + String(repeating: "0", count: n - k)
        } else if 0 < n && n <= 21 {
            let idx = digits.index(digits.startIndex, offsetBy: n)
            out += digits[..<idx] + "." + digits[idx...]
        } else if -6 < n && n <= 0 {
            out += "0." + String(repeating: "0", count: -n) + digits
        } else {
            let e = n - 1
            let sign = e < 0 ? "-" : "+"
            if k == 1 {
                out += digits + "e" + sign + String(abs(e))
            } else {
                out += digits.prefix(1) + "." + digits.dropFirst() + "e" + sign + String(abs(e))
            }
        }
        return out
    }
}
