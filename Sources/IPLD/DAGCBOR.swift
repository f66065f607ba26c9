import Multiformats

/// DAG-CBOR: the canonical, strict CBOR subset IPLD uses (multicodec 0x71).
public enum DAGCBOR {
    /// Multicodec code.
    public static let code: UInt64 = 0x71
    /// Deepest nesting of lists and maps the decoder accepts.
    public static let maxDepth = 256

    /// Encodes `value` canonically.
    public static func encode(_ value: IPLDValue) throws(DAGCBORError) -> [UInt8] {
        var out: [UInt8] = []
        try encode(value, into: &out)
        return out
    }

    /// Appends the canonical encoding of `value` to `out`.
    public static func encode(_ value: IPLDValue, into out: inout [UInt8]) throws(DAGCBORError) {
        switch value {
        case .null: out.append(0xf6)
        case .bool(let b): out.append(b ? 0xf5 : 0xf4)
        case .integer(let i): writeHead(major: i.isNegative ? 1 : 0, i.magnitude, into: &out)
        case .float(let d):
            guard d.isFinite else { throw .nonFiniteFloat(offset: out.count) }
            out.append(0xfb)
            let bits = d.bitPattern
            for s in stride(from: 56, through: 0, by: -8) { out.append(UInt8(truncatingIfNeeded: bits >> UInt64(s))) }
        case .string(let s):
            let utf8 = Array(s.utf8)
            writeHead(major: 3, UInt64(utf8.count), into: &out)
            out.append(contentsOf: utf8)
        case .bytes(let b):
            writeHead(major: 2, UInt64(b.count), into: &out)
            out.append(contentsOf: b)
        case .list(let items):
            writeHead(major: 4, UInt64(items.count), into: &out)
            for item in items { try encode(item, into: &out) }
        case .map(let entries):
            writeHead(major: 5, UInt64(entries.count), into: &out)
            let keyed = entries.map { (Array($0.key.utf8), $0.value) }.sorted { canonicalKeyOrder($0.0, $1.0) }
            for (k, v) in keyed {
                writeHead(major: 3, UInt64(k.count), into: &out)
                out.append(contentsOf: k)
                try encode(v, into: &out)
            }
        case .link(let cid):
            out.append(0xd8); out.append(42)
            writeHead(major: 2, UInt64(cid.bytes.count + 1), into: &out)
            out.append(0)
            out.append(contentsOf: cid.bytes)
        }
    }

    /// DAG-CBOR map key order: shorter keys first, then bytewise.
    public static func canonicalKeyOrder(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        if a.count != b.count { return a.count < b.count }
        return a.lexicographicallyPrecedes(b)
    }

    /// Writes a CBOR head with the shortest argument form.
    public static func writeHead(major: UInt8, _ value: UInt64, into out: inout [UInt8]) {
        let m = major << 5
        switch value {
        case 0..<24: out.append(m | UInt8(value))
        case 24...0xff: out.append(m | 24); out.append(UInt8(value))
        case 0x100...0xffff:
            out.append(m | 25); out.append(UInt8(value >> 8)); out.append(UInt8(truncatingIfNeeded: value))
        case 0x10000...0xffff_ffff:
            out.append(m | 26)
            for s in stride(from: 24, through: 0, by: -8) { out.append(UInt8(truncatingIfNeeded: value >> UInt64(s))) }
        default:
            out.append(m | 27)
            for s in stride(from: 56, through: 0, by: -8) { out.append(UInt8(truncatingIfNeeded: value >> UInt64(s))) }
        }
    }

    /// Decodes exactly one DAG-CBOR value from `bytes`, rejecting anything non-canonical.
    public static func decode(_ bytes: some Collection<UInt8>) throws(DAGCBORError) -> IPLDValue {
        var reader = Reader(bytes: Array(bytes))
        let value = try reader.readValue(depth: 0)
        guard reader.offset == reader.bytes.count else { throw .trailingBytes(offset: reader.offset) }
        return value
    }

    struct Reader {
        let bytes: [UInt8]
        var offset = 0

        mutating func byte() throws(DAGCBORError) -> UInt8 {
            guard offset < bytes.count else { throw .truncated(offset: offset) }
            defer { offset += 1 }
            return bytes[offset]
        }

        mutating func bigEndian(_ n: Int) throws(DAGCBORError) -> UInt64 {
            guard bytes.count - offset >= n else { throw .truncated(offset: offset) }
            var v: UInt64 = 0
            for i in 0..<n { v = (v << 8) | UInt64(bytes[offset + i]) }
            offset += n
            return v
        }

        /// Reads the argument of a head whose initial byte has `info`, enforcing the shortest form.
        mutating func argument(_ info: UInt8, at start: Int) throws(DAGCBORError) -> UInt64 {
            switch info {
            case 0..<24: return UInt64(info)
            case 24:
                let v = try bigEndian(1)
                guard v >= 24 else { throw .nonMinimalEncoding(offset: start) }
                return v
            case 25:
                let v = try bigEndian(2)
                guard v > 0xff else { throw .nonMinimalEncoding(offset: start) }
                return v
            case 26:
                let v = try bigEndian(4)
                guard v > 0xffff else { throw .nonMinimalEncoding(offset: start) }
                return v
            case 27:
                let v = try bigEndian(8)
                guard v > 0xffff_ffff else { throw .nonMinimalEncoding(offset: start) }
                return v
            case 31: throw .indefiniteLength(offset: start)
            default: throw .reservedAdditionalInfo(offset: start)
            }
        }

        mutating func length(_ info: UInt8, at start: Int, minimumItemSize: Int) throws(DAGCBORError) -> Int {
            let n = try argument(info, at: start)
            let remaining = bytes.count - offset
            guard n <= UInt64(remaining / minimumItemSize) else { throw .lengthExceedsInput(offset: start, length: n) }
            return Int(n)
        }

        mutating func readValue(depth: Int) throws(DAGCBORError) -> IPLDValue {
            let start = offset
            let initial = try byte()
            let major = initial >> 5
            let info = initial & 0x1f
            switch major {
            case 0: return .integer(IPLDInteger(isNegative: false, magnitude: try argument(info, at: start)))
            case 1: return .integer(IPLDInteger(isNegative: true, magnitude: try argument(info, at: start)))
            case 2:
                let n = try length(info, at: start, minimumItemSize: 1)
                defer { offset += n }
                return .bytes(Array(bytes[offset..<(offset + n)]))
            case 3:
                return .string(try readString(info, at: start))
            case 4:
                guard depth < DAGCBOR.maxDepth else { throw .nestingTooDeep(offset: start) }
                let n = try length(info, at: start, minimumItemSize: 1)
                var items: [IPLDValue] = []
                items.reserveCapacity(min(n, 4096))  // the declared count is not trusted
                for _ in 0..<n { items.append(try readValue(depth: depth + 1)) }
                return .list(items)
            case 5:
                guard depth < DAGCBOR.maxDepth else { throw .nestingTooDeep(offset: start) }
                let n = try length(info, at: start, minimumItemSize: 2)
                var map: [String: IPLDValue] = [:]
                map.reserveCapacity(min(n, 4096))
                var previousKey: [UInt8]? = nil
                for _ in 0..<n {
                    let keyStart = offset
                    let keyInitial = try byte()
                    guard keyInitial >> 5 == 3 else { throw .mapKeyNotString(offset: keyStart) }
                    let key = try readString(keyInitial & 0x1f, at: keyStart)
                    let keyBytes = Array(key.utf8)
                    if let prev = previousKey {
                        if prev == keyBytes { throw .duplicateMapKey(key, offset: keyStart) }
                        guard DAGCBOR.canonicalKeyOrder(prev, keyBytes) else { throw .unsortedMapKeys(key, offset: keyStart) }
                    }
                    previousKey = keyBytes
                    map[key] = try readValue(depth: depth + 1)
                }
                return .map(map)
            case 6:
                let tag = try argument(info, at: start)
                guard tag == 42 else { throw .unsupportedTag(tag, offset: start) }
                let bstart = offset
                let initial = try byte()
                guard initial >> 5 == 2 else { throw .invalidCID(offset: bstart, reason: "tag 42 must wrap a byte string") }
                let n = try length(initial & 0x1f, at: bstart, minimumItemSize: 1)
                let raw = bytes[offset..<(offset + n)]
                offset += n
                guard raw.first == 0 else { throw .invalidCID(offset: bstart, reason: "missing 0x00 multibase prefix") }
                do {
                    return .link(try CID(bytes: raw.dropFirst()))
                } catch {
                    throw .invalidCID(offset: bstart, reason: error.description)
                }
            default:  // 7
                switch info {
                case 20: return .bool(false)
                case 21: return .bool(true)
                case 22: return .null
                case 27:
                    let bits = try bigEndian(8)
                    let d = Double(bitPattern: bits)
                    guard d.isFinite else { throw .nonFiniteFloat(offset: start) }
                    return .float(d)
                case 25, 26: throw .nonCanonicalFloat(offset: start)
                case 31: throw .indefiniteLength(offset: start)
                default: throw .unsupportedSimpleValue(info, offset: start)
                }
            }
        }

        mutating func readString(_ info: UInt8, at start: Int) throws(DAGCBORError) -> String {
            let n = try length(info, at: start, minimumItemSize: 1)
            let slice = bytes[offset..<(offset + n)]
            offset += n
            let s = String(decoding: slice, as: UTF8.self)
            guard s.utf8.elementsEqual(slice) else { throw .invalidUTF8(offset: start) }
            return s
        }
    }
}

/// Why DAG-CBOR bytes were rejected; offsets count from the start of the block.
public enum DAGCBORError: Error, Equatable, Sendable, CustomStringConvertible {
    case truncated(offset: Int)
    case trailingBytes(offset: Int)
    case nonMinimalEncoding(offset: Int)
    case indefiniteLength(offset: Int)
    case reservedAdditionalInfo(offset: Int)
    case lengthExceedsInput(offset: Int, length: UInt64)
    case nestingTooDeep(offset: Int)
    case mapKeyNotString(offset: Int)
    case duplicateMapKey(String, offset: Int)
    case unsortedMapKeys(String, offset: Int)
    case unsupportedTag(UInt64, offset: Int)
    case invalidCID(offset: Int, reason: String)
    case nonFiniteFloat(offset: Int)
    case nonCanonicalFloat(offset: Int)
    case unsupportedSimpleValue(UInt8, offset: Int)
    case invalidUTF8(offset: Int)

    public var description: String {
        switch self {
        case .truncated(let o): return "DAG-CBOR: input ends early at byte \(o)"
        case .trailingBytes(let o): return "DAG-CBOR: unexpected bytes after the value at byte \(o)"
        case .nonMinimalEncoding(let o): return "DAG-CBOR: integer or length at byte \(o) is not in its shortest form"
        case .indefiniteLength(let o): return "DAG-CBOR: indefinite-length item at byte \(o) is not allowed"
        case .reservedAdditionalInfo(let o): return "DAG-CBOR: reserved additional information at byte \(o)"
        case .lengthExceedsInput(let o, let n): return "DAG-CBOR: length \(n) at byte \(o) exceeds the input"
        case .nestingTooDeep(let o): return "DAG-CBOR: nesting deeper than \(DAGCBOR.maxDepth) at byte \(o)"
        case .mapKeyNotString(let o): return "DAG-CBOR: map key at byte \(o) is not a string"
        case .duplicateMapKey(let k, let o): return "DAG-CBOR: duplicate map key \"\(k)\" at byte \(o)"
        case .unsortedMapKeys(let k, let o): return "DAG-CBOR: map key \"\(k)\" at byte \(o) is out of canonical order"
        case .unsupportedTag(let t, let o): return "DAG-CBOR: tag \(t) at byte \(o) is not allowed (only 42)"
        case .invalidCID(let o, let r): return "DAG-CBOR: invalid CID at byte \(o): \(r)"
        case .nonFiniteFloat(let o): return "DAG-CBOR: NaN or infinity at byte \(o)"
        case .nonCanonicalFloat(let o): return "DAG-CBOR: float at byte \(o) is not 64-bit"
        case .unsupportedSimpleValue(let v, let o): return "DAG-CBOR: simple value \(v) at byte \(o) is not allowed"
        case .invalidUTF8(let o): return "DAG-CBOR: string at byte \(o) is not valid UTF-8"
        }
    }
}
