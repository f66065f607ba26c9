import Multiformats

/// A DAG-PB link.
public struct PBLink: Hashable, Sendable {
    /// Target of the link.
    public var hash: CID
    /// Link name (UnixFS entry name); `nil` when absent.
    public var name: String?
    /// Cumulative size of the target DAG; `nil` when absent.
    public var tsize: UInt64?

    /// Creates a link.
    public init(hash: CID, name: String? = nil, tsize: UInt64? = nil) {
        self.hash = hash
        self.name = name
        self.tsize = tsize
    }
}

/// A DAG-PB node.
public struct PBNode: Hashable, Sendable {
    /// Links, in encoding order.
    public var links: [PBLink]
    /// The Data field; `nil` when absent.
    public var data: [UInt8]?

    /// Creates a node.
    public init(links: [PBLink] = [], data: [UInt8]? = nil) {
        self.links = links
        self.data = data
    }
}

/// DAG-PB codec (multicodec 0x70) following the IPLD DAG-PB spec: links before data, strict decoding.
public enum DAGPB {
    /// Multicodec code.
    public static let code: UInt64 = 0x70

    /// Encodes a node: each link as Hash, Name, Tsize (present fields only), then Data.
    public static func encode(_ node: PBNode) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(node.links.count * 48 + (node.data?.count ?? 0) + 8)
        var linkBytes: [UInt8] = []
        for link in node.links {
            linkBytes.removeAll(keepingCapacity: true)
            Protobuf.writeBytesField(1, link.hash.bytes, into: &linkBytes)
            if let name = link.name { Protobuf.writeBytesField(2, Array(name.utf8), into: &linkBytes) }
            if let tsize = link.tsize { Protobuf.writeVarintField(3, tsize, into: &linkBytes) }
            Protobuf.writeBytesField(2, linkBytes, into: &out)
        }
        if let data = node.data { Protobuf.writeBytesField(1, data, into: &out) }
        return out
    }

    /// Decodes a node strictly: field order, wire types and required fields are checked.
    public static func decode(_ bytes: some Collection<UInt8>) throws(DAGPBError) -> PBNode {
        let b = Array(bytes)
        var p = Protobuf.Reader(bytes: b, base: 0)
        var node = PBNode()
        var sawData = false
        while !p.atEnd {
            let (field, wire, at) = try p.key()
            guard wire == 2 else { throw .unexpectedWireType(field: field, wireType: wire, offset: at) }
            let (start, end) = try p.lengthDelimited()
            switch field {
            case 1:
                guard !sawData else { throw .duplicateField("Data", offset: at) }
                sawData = true
                node.data = Array(b[start..<end])
            case 2:
                guard !sawData else { throw .duplicateField("Links (links after Data)", offset: at) }
                node.links.append(try decodeLink(b, start, end))
            default:
                throw .unexpectedField(field, offset: at)
            }
        }
        return node
    }

    static func decodeLink(_ b: [UInt8], _ start: Int, _ end: Int) throws(DAGPBError) -> PBLink {
        var p = Protobuf.Reader(bytes: b, base: start, end: end)
        var hash: CID?
        var name: String?
        var tsize: UInt64?
        var lastField: UInt64 = 0
        while !p.atEnd {
            let (field, wire, at) = try p.key()
            guard field > lastField else {
                throw field == lastField ? .duplicateField(field == 1 ? "Hash" : field == 2 ? "Name" : "Tsize", offset: at) : .fieldOutOfOrder(field, offset: at)
            }
            lastField = field
            switch field {
            case 1:
                guard wire == 2 else { throw .unexpectedWireType(field: field, wireType: wire, offset: at) }
                let (s, e) = try p.lengthDelimited()
                do { hash = try CID(bytes: b[s..<e]) } catch { throw .invalidHash(offset: at, reason: error.description) }
            case 2:
                guard hash != nil else { throw .missingHash(offset: at) }
                guard wire == 2 else { throw .unexpectedWireType(field: field, wireType: wire, offset: at) }
                let (s, e) = try p.lengthDelimited()
                let text = String(decoding: b[s..<e], as: UTF8.self)
                guard text.utf8.elementsEqual(b[s..<e]) else { throw .invalidName(offset: at) }
                name = text
            case 3:
                guard hash != nil else { throw .missingHash(offset: at) }
                guard wire == 0 else { throw .unexpectedWireType(field: field, wireType: wire, offset: at) }
                tsize = try p.varint()
            default:
                throw .unexpectedField(field, offset: at)
            }
        }
        guard let hash else { throw .missingHash(offset: start) }
        return PBLink(hash: hash, name: name, tsize: tsize)
    }

    /// Builds a node from its IPLD data-model form `{Data?: bytes, Links: [{Hash, Name?, Tsize?}]}`,
    /// validating it as the DAG-PB spec requires (including link order by name bytes).
    public static func node(from value: IPLDValue) throws(DAGPBError) -> PBNode {
        guard case .map(let map) = value else { throw .invalidForm("not a map") }
        for key in map.keys where key != "Data" && key != "Links" { throw .invalidForm("extraneous properties") }
        guard case .list(let rawLinks)? = map["Links"] else { throw .invalidForm("Links must be a list") }
        var node = PBNode()
        if let data = map["Data"] {
            guard case .bytes(let d) = data else { throw .invalidForm("Data must be bytes") }
            node.data = d
        }
        for raw in rawLinks {
            guard case .map(let l) = raw else { throw .invalidForm("bad link") }
            for key in l.keys where !["Hash", "Name", "Tsize"].contains(key) { throw .invalidForm("extraneous properties on link") }
            guard let h = l["Hash"] else { throw .invalidForm("link must have a Hash") }
            guard case .link(let cid) = h else { throw .invalidForm("link Hash must be a CID") }
            var link = PBLink(hash: cid)
            if let n = l["Name"] {
                guard case .string(let s) = n else { throw .invalidForm("link Name must be a string") }
                link.name = s
            }
            if let t = l["Tsize"] {
                guard case .integer(let i) = t else { throw .invalidForm("link Tsize must be an integer") }
                guard !i.isNegative else { throw .invalidForm("link Tsize cannot be negative") }
                link.tsize = i.magnitude
            }
            node.links.append(link)
        }
        for (a, b) in zip(node.links, node.links.dropFirst()) where Array((b.name ?? "").utf8).lexicographicallyPrecedes(Array((a.name ?? "").utf8)) {
            throw .invalidForm("links must be sorted by Name bytes")
        }
        return node
    }

    /// The IPLD data-model form of a node.
    public static func value(of node: PBNode) -> IPLDValue {
        var map: [String: IPLDValue] = [
            "Links": .list(node.links.map { link in
                var l: [String: IPLDValue] = ["Hash": .link(link.hash)]
                if let n = link.name { l["Name"] = .string(n) }
                if let t = link.tsize { l["Tsize"] = .integer(IPLDInteger(isNegative: false, magnitude: t)) }
                return .map(l)
            })
        ]
        if let d = node.data { map["Data"] = .bytes(d) }
        return .map(map)
    }
}

/// Why DAG-PB bytes or forms were rejected.
public enum DAGPBError: Error, Equatable, Sendable, CustomStringConvertible {
    case truncated(offset: Int)
    case invalidVarint(offset: Int)
    case unexpectedWireType(field: UInt64, wireType: UInt64, offset: Int)
    case unexpectedField(UInt64, offset: Int)
    case duplicateField(String, offset: Int)
    case fieldOutOfOrder(UInt64, offset: Int)
    case missingHash(offset: Int)
    case invalidHash(offset: Int, reason: String)
    case invalidName(offset: Int)
    case invalidForm(String)

    public var description: String {
        switch self {
        case .truncated(let o): return "DAG-PB: input ends early at byte \(o)"
        case .invalidVarint(let o): return "DAG-PB: malformed varint at byte \(o)"
        case .unexpectedWireType(let f, let w, let o): return "DAG-PB: field \(f) at byte \(o) has wire type \(w)"
        case .unexpectedField(let f, let o): return "DAG-PB: unexpected field \(f) at byte \(o)"
        case .duplicateField(let n, let o): return "DAG-PB: duplicate \(n) at byte \(o)"
        case .fieldOutOfOrder(let f, let o): return "DAG-PB: link field \(f) out of order at byte \(o)"
        case .missingHash(let o): return "DAG-PB: link at byte \(o) has no Hash"
        case .invalidHash(let o, let r): return "DAG-PB: invalid link Hash at byte \(o): \(r)"
        case .invalidName(let o): return "DAG-PB: link Name at byte \(o) is not valid UTF-8"
        case .invalidForm(let r): return "Invalid DAG-PB form (\(r))"
        }
    }
}

/// Minimal protobuf wire-format helpers shared by DAG-PB and UnixFS.
public enum Protobuf {
    /// Appends a length-delimited field.
    public static func writeBytesField(_ field: UInt64, _ bytes: [UInt8], into out: inout [UInt8]) {
        Varint.encode(field << 3 | 2, into: &out)
        Varint.encode(UInt64(bytes.count), into: &out)
        out.append(contentsOf: bytes)
    }

    /// Appends a varint field.
    public static func writeVarintField(_ field: UInt64, _ value: UInt64, into out: inout [UInt8]) {
        Varint.encode(field << 3, into: &out)
        Varint.encode(value, into: &out)
    }

    /// A bounds-checked reader over `bytes[base..<end]`.
    public struct Reader {
        let bytes: [UInt8]
        /// Current position.
        public private(set) var offset: Int
        let end: Int

        /// Creates a reader over `bytes[base..<end]`.
        public init(bytes: [UInt8], base: Int, end: Int? = nil) {
            self.bytes = bytes
            self.offset = base
            self.end = end ?? bytes.count
        }

        /// `true` when all bytes are consumed.
        public var atEnd: Bool { offset >= end }

        /// Reads a protobuf varint (up to 64 bits).
        public mutating func varint() throws(DAGPBError) -> UInt64 {
            let start = offset
            var value: UInt64 = 0
            var shift: UInt64 = 0
            while true {
                guard offset < end else { throw .truncated(offset: start) }
                let byte = bytes[offset]
                offset += 1
                if shift == 63 && byte > 1 { throw .invalidVarint(offset: start) }
                value |= UInt64(byte & 0x7f) << shift
                if byte & 0x80 == 0 { return value }
                shift += 7
                if shift > 63 { throw .invalidVarint(offset: start) }
            }
        }

        /// Reads a field key; returns (field number, wire type, offset of the key).
        public mutating func key() throws(DAGPBError) -> (UInt64, UInt64, Int) {
            let at = offset
            let k = try varint()
            return (k >> 3, k & 7, at)
        }

        /// Reads a length prefix and returns the payload's range, advancing past it.
        public mutating func lengthDelimited() throws(DAGPBError) -> (Int, Int) {
            let at = offset
            let n = try varint()
            guard n <= UInt64(end - offset) else { throw .truncated(offset: at) }
            let s = offset
            offset += Int(n)
            return (s, offset)
        }

        /// Skips a field of wire type `wire`.
        public mutating func skip(wire: UInt64, at: Int) throws(DAGPBError) {
            switch wire {
            case 0: _ = try varint()
            case 1: guard end - offset >= 8 else { throw .truncated(offset: at) }; offset += 8
            case 2: _ = try lengthDelimited()
            case 5: guard end - offset >= 4 else { throw .truncated(offset: at) }; offset += 4
            default: throw .unexpectedWireType(field: 0, wireType: wire, offset: at)
            }
        }
    }
}
