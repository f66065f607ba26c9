import Foundation

/// A JSON value with ordered object members, written exactly as JavaScript's `JSON.stringify` does
/// (compact, members in order), so that a profile we write is the file the official CLI writes.
public enum JSONValue: Sendable, Equatable {
    case null
    case bool(Bool)
    case integer(Int64)
    case double(Double)
    case string(String)
    case array([JSONValue])
    case object([(String, JSONValue)])

    public static func == (lhs: JSONValue, rhs: JSONValue) -> Bool {
        switch (lhs, rhs) {
        case (.null, .null): return true
        case (.bool(let a), .bool(let b)): return a == b
        case (.integer(let a), .integer(let b)): return a == b
        case (.double(let a), .double(let b)): return a == b
        case (.integer(let a), .double(let b)), (.double(let b), .integer(let a)): return Double(a) == b
        case (.string(let a), .string(let b)): return a == b
        case (.array(let a), .array(let b)): return a == b
        case (.object(let a), .object(let b)):
            guard a.count == b.count else { return false }
            let bm = Dictionary(b, uniquingKeysWith: { $1 })
            return a.allSatisfy { bm[$0.0] == $0.1 }
        default: return false
        }
    }

    /// The member `key` of an object.
    public subscript(key: String) -> JSONValue? {
        guard case .object(let members) = self else { return nil }
        return members.last { $0.0 == key }?.1
    }

    /// The string, if this is one.
    public var stringValue: String? { if case .string(let s) = self { return s } else { return nil } }

    /// The members, if this is an object.
    public var members: [(String, JSONValue)]? { if case .object(let m) = self { return m } else { return nil } }

    /// Parses JSON text, keeping the order of object members (Foundation's parsers do not).
    public static func parse(_ data: Data) throws(JSONParseError) -> JSONValue {
        var parser = JSONParser(bytes: [UInt8](data))
        return try parser.document()
    }

    /// Compact JSON text, as `JSON.stringify(value)`.
    public func serialized() -> String {
        var out = ""
        write(into: &out)
        return out
    }

    /// A double as JavaScript's `JSON.stringify` writes it: integral values below 1e21 in plain digits (the shortest
    /// digits that round-trip, then zeros), others in Swift's shortest form.
    static func number(_ d: Double) -> String {
        guard d == d.rounded(), abs(d) < 1e21 else { return String(d) }
        if abs(d) < 9e18 { return String(Int64(d)) }
        // 9e18 ≤ |d| < 1e21: Swift writes "1.2345e+20"; spell out the digits with the exponent's zeros.
        let text = String(abs(d))
        guard let e = text.firstIndex(of: "e"), let exponent = Int(text[text.index(after: e)...]) else { return String(d) }
        let digits = text[..<e].filter { $0 != "." }
        let zeros = max(0, exponent + 1 - digits.count)
        return (d < 0 ? "-" : "") + digits + String(repeating: "0", count: zeros)
    }

    private func write(into out: inout String) {
        switch self {
        case .null: out += "null"
        case .bool(let b): out += b ? "true" : "false"
        case .integer(let i): out += String(i)
        case .double(let d):
            if d.isFinite { out += JSONValue.number(d) } else { out += "null" }
        case .string(let s): JSONValue.quote(s, into: &out)
        case .array(let items):
            out += "["
            for (i, item) in items.enumerated() {
                if i > 0 { out += "," }
                item.write(into: &out)
            }
            out += "]"
        case .object(let members):
            out += "{"
            for (i, (key, value)) in members.enumerated() {
                if i > 0 { out += "," }
                JSONValue.quote(key, into: &out)
                out += ":"
                value.write(into: &out)
            }
            out += "}"
        }
    }

    private static func quote(_ s: String, into out: inout String) {
        out += "\""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case "\u{08}": out += "\\b"
            case "\u{0C}": out += "\\f"
            default:
                if scalar.value < 0x20 {
                    out += "\\u" + String(repeating: "0", count: 4 - String(scalar.value, radix: 16).count) + String(scalar.value, radix: 16)
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        out += "\""
    }
}
