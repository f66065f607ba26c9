import Multiformats

/// A value of the IPLD data model.
public indirect enum IPLDValue: Hashable, Sendable {
    /// null
    case null
    /// true / false
    case bool(Bool)
    /// An integer in [-2^64, 2^64-1].
    case integer(IPLDInteger)
    /// A finite 64-bit float.
    case float(Double)
    /// A UTF-8 string.
    case string(String)
    /// A byte string.
    case bytes([UInt8])
    /// An ordered list.
    case list([IPLDValue])
    /// A map with string keys (encoders sort keys canonically).
    case map([String: IPLDValue])
    /// A link to another block.
    case link(CID)

    /// Integer convenience.
    public static func int(_ v: Int) -> IPLDValue { .integer(IPLDInteger(v)) }

    /// The map entries, if this is a map.
    public var mapValue: [String: IPLDValue]? { if case .map(let m) = self { return m } else { return nil } }
    /// The list items, if this is a list.
    public var listValue: [IPLDValue]? { if case .list(let l) = self { return l } else { return nil } }
    /// The string, if this is a string.
    public var stringValue: String? { if case .string(let s) = self { return s } else { return nil } }
    /// The bytes, if this is a byte string.
    public var bytesValue: [UInt8]? { if case .bytes(let b) = self { return b } else { return nil } }
    /// The link, if this is a link.
    public var linkValue: CID? { if case .link(let c) = self { return c } else { return nil } }
    /// The integer as `Int`, if it is an integer that fits.
    public var intValue: Int? { if case .integer(let i) = self { return i.int } else { return nil } }

    /// Member lookup for maps.
    public subscript(key: String) -> IPLDValue? { mapValue?[key] }

    /// A short name of the kind, for error messages.
    public var kindName: String {
        switch self {
        case .null: return "null"
        case .bool: return "bool"
        case .integer: return "int"
        case .float: return "float"
        case .string: return "string"
        case .bytes: return "bytes"
        case .list: return "list"
        case .map: return "map"
        case .link: return "link"
        }
    }
}

/// An IPLD integer in the CBOR range: non-negative up to 2^64-1, negative down to -2^64.
public struct IPLDInteger: Hashable, Sendable, CustomStringConvertible {
    /// `true` for negative values.
    public let isNegative: Bool
    /// For non-negative values, the value; for negative values, `-1 - value` (the CBOR argument).
    public let magnitude: UInt64

    /// From the CBOR major-type form.
    public init(isNegative: Bool, magnitude: UInt64) {
        self.isNegative = isNegative
        self.magnitude = magnitude
    }

    /// From a Swift integer.
    public init<T: BinaryInteger>(_ value: T) {
        if value < 0 {
            isNegative = true
            magnitude = UInt64(-1 - Int64(value))
        } else {
            isNegative = false
            magnitude = UInt64(value)
        }
    }

    /// The value as `Int64`, when it fits.
    public var int64: Int64? {
        if isNegative { return magnitude <= UInt64(Int64.max) ? -1 - Int64(magnitude) : nil }
        return magnitude <= UInt64(Int64.max) ? Int64(magnitude) : nil
    }

    /// The value as `Int`, when it fits.
    public var int: Int? { int64.flatMap { Int(exactly: $0) } }

    /// The value as `UInt64`, when non-negative.
    public var uint64: UInt64? { isNegative ? nil : magnitude }

    /// Decimal text.
    public var description: String {
        guard isNegative else { return String(magnitude) }
        if magnitude == UInt64.max { return "-18446744073709551616" }
        return "-" + String(magnitude + 1)
    }

    /// Parses decimal text in the CBOR integer range.
    public init?(decimal text: Substring) {
        if text.hasPrefix("-") {
            let digits = text.dropFirst()
            if digits == "18446744073709551616" {
                self.init(isNegative: true, magnitude: UInt64.max)
                return
            }
            guard let m = UInt64(digits), m > 0 else { return nil }
            self.init(isNegative: true, magnitude: m - 1)
        } else {
            guard let m = UInt64(text) else { return nil }
            self.init(isNegative: false, magnitude: m)
        }
    }
}

extension IPLDValue: ExpressibleByStringLiteral, ExpressibleByIntegerLiteral, ExpressibleByArrayLiteral,
    ExpressibleByDictionaryLiteral, ExpressibleByBooleanLiteral, ExpressibleByNilLiteral
{
    public init(stringLiteral value: String) { self = .string(value) }
    public init(integerLiteral value: Int) { self = .integer(IPLDInteger(value)) }
    public init(arrayLiteral elements: IPLDValue...) { self = .list(elements) }
    public init(dictionaryLiteral elements: (String, IPLDValue)...) {
        self = .map(Dictionary(elements, uniquingKeysWith: { _, b in b }))
    }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    public init(nilLiteral: ()) { self = .null }
}
