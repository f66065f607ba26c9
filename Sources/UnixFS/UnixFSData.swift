import IPLD

/// The UnixFS `Data` protobuf carried in a DAG-PB node's Data field.
public struct UnixFSData: Hashable, Sendable {
    /// UnixFS node types.
    public enum Kind: UInt64, Sendable {
        case raw = 0, directory = 1, file = 2, metadata = 3, symlink = 4, hamtShard = 5
    }

    /// Node type.
    public var kind: Kind
    /// Inline data (field 2), or the HAMT bitfield.
    public var data: [UInt8]?
    /// Total file size (field 3).
    public var filesize: UInt64?
    /// Content size of each child (field 4, unpacked).
    public var blocksizes: [UInt64]
    /// HAMT hash function (field 5).
    public var hashType: UInt64?
    /// HAMT fanout (field 6).
    public var fanout: UInt64?
    /// POSIX mode (field 7), never written by the Storacha client.
    public var mode: UInt64?

    /// Creates UnixFS data.
    public init(kind: Kind, data: [UInt8]? = nil, filesize: UInt64? = nil, blocksizes: [UInt64] = [],
                hashType: UInt64? = nil, fanout: UInt64? = nil, mode: UInt64? = nil) {
        self.kind = kind
        self.data = data
        self.filesize = filesize
        self.blocksizes = blocksizes
        self.hashType = hashType
        self.fanout = fanout
        self.mode = mode
    }

    /// Encodes fields in ascending field order, as `@ipld/unixfs` does.
    public func encode() -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(8 + blocksizes.count * 4 + (data?.count ?? 0))
        Protobuf.writeVarintField(1, kind.rawValue, into: &out)
        if let data { Protobuf.writeBytesField(2, data, into: &out) }
        if let filesize { Protobuf.writeVarintField(3, filesize, into: &out) }
        for size in blocksizes { Protobuf.writeVarintField(4, size, into: &out) }
        if let hashType { Protobuf.writeVarintField(5, hashType, into: &out) }
        if let fanout { Protobuf.writeVarintField(6, fanout, into: &out) }
        if let mode { Protobuf.writeVarintField(7, mode, into: &out) }
        return out
    }

    /// Decodes UnixFS data; unknown fields (mtime and later additions) are skipped.
    public init(bytes: [UInt8]) throws(UnixFSError) {
        var r = Protobuf.Reader(bytes: bytes, base: 0)
        var kind: Kind?
        self.blocksizes = []
        self.kind = .raw
        do {
            while !r.atEnd {
                let (field, wire, at) = try r.key()
                switch (field, wire) {
                case (1, 0):
                    let v = try r.varint()
                    guard let k = Kind(rawValue: v) else { throw UnixFSError.invalidNode("unknown UnixFS type \(v)") }
                    kind = k
                case (2, 2):
                    let (s, e) = try r.lengthDelimited()
                    data = Array(bytes[s..<e])
                case (3, 0): filesize = try r.varint()
                case (4, 0): blocksizes.append(try r.varint())
                case (4, 2):
                    let (s, e) = try r.lengthDelimited()
                    var inner = Protobuf.Reader(bytes: bytes, base: s, end: e)
                    while !inner.atEnd { blocksizes.append(try inner.varint()) }
                case (5, 0): hashType = try r.varint()
                case (6, 0): fanout = try r.varint()
                case (7, 0): mode = try r.varint()
                default: try r.skip(wire: wire, at: at)
                }
            }
        } catch let e as DAGPBError {
            throw .invalidNode("UnixFS data: \(e)")
        } catch let e as UnixFSError {
            throw e
        } catch {
            throw .invalidNode("UnixFS data: \(error)")
        }
        guard let kind else { throw .invalidNode("UnixFS data has no Type") }
        self.kind = kind
    }
}
