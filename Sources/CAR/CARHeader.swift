import Multiformats
import IPLD

/// The header of a CAR v1 file: `{roots: [CID], version: 1}` in DAG-CBOR behind a varint length.
public struct CARHeader: Hashable, Sendable {
    /// Root CIDs (may be empty).
    public var roots: [CID]

    /// Creates a header.
    public init(roots: [CID]) { self.roots = roots }

    /// The header bytes including the varint length prefix.
    public var bytes: [UInt8] {
        let body = CARHeader.body(roots: roots)
        var out = Varint.encode(UInt64(body.count))
        out.append(contentsOf: body)
        return out
    }

    /// Length of the encoded header including its prefix.
    public var encodedLength: Int { bytes.count }

    static func body(roots: [CID]) -> [UInt8] {
        // Encoding a map of a list of links and an int cannot fail.
        (try? DAGCBOR.encode(.map(["roots": .list(roots.map { .link($0) }), "version": 1]))) ?? []
    }

    /// Parses the DAG-CBOR body of a header (without the length prefix).
    public init(body: [UInt8]) throws(CARError) {
        let value: IPLDValue
        do { value = try DAGCBOR.decode(body) } catch { throw .invalidHeader(error.description) }
        guard case .map(let map) = value else { throw .invalidHeader("header is not a map") }
        guard case .integer(let v)? = map["version"] else { throw .invalidHeader("missing version") }
        guard v.int == 1 else { throw .unsupportedVersion(v.description) }
        guard case .list(let list)? = map["roots"] else { throw .invalidHeader("missing roots") }
        var roots: [CID] = []
        for item in list {
            guard case .link(let cid) = item else { throw .invalidHeader("roots must be CIDs") }
            roots.append(cid)
        }
        self.roots = roots
    }
}

/// Errors reading or writing CAR files; offsets are byte positions in the CAR.
public enum CARError: Error, Equatable, Sendable, CustomStringConvertible {
    case invalidHeader(String)
    case unsupportedVersion(String)
    case truncatedHeader(offset: Int)
    case truncatedBlock(offset: Int)
    case invalidSectionLength(offset: Int, length: UInt64)
    case invalidBlockCID(offset: Int, reason: String)
    case hashMismatch(cid: String, offset: Int)
    case unsupportedHash(cid: String, offset: Int)
    case tooManyBlocks(limit: Int)
    case io(String)

    public var description: String {
        switch self {
        case .invalidHeader(let r): return "CAR: invalid header: \(r)"
        case .unsupportedVersion(let v): return "CAR: unsupported version \(v) (only CAR v1 is supported)"
        case .truncatedHeader(let o): return "CAR: file ends inside the header at byte \(o)"
        case .truncatedBlock(let o): return "CAR: file ends inside the block starting at byte \(o)"
        case .invalidSectionLength(let o, let n): return "CAR: block at byte \(o) declares an impossible length \(n)"
        case .invalidBlockCID(let o, let r): return "CAR: block at byte \(o) has an invalid CID: \(r)"
        case .hashMismatch(let c, let o): return "CAR: block at byte \(o) does not match its CID \(c)"
        case .unsupportedHash(let c, let o): return "CAR: block \(c) at byte \(o) uses a hash this tool cannot verify"
        case .tooManyBlocks(let n): return "CAR: more than \(n) blocks"
        case .io(let r): return "CAR: \(r)"
        }
    }
}
