/// Errors importing or exporting UnixFS.
public enum UnixFSError: Error, Equatable, Sendable, CustomStringConvertible {
    /// A block exceeds the shard size and can never fit in a CAR shard.
    case blockExceedsShardSize(cid: String)
    /// Two input paths collide (a name is both a file and a directory, or appears twice).
    case pathConflict(String)
    /// An input path is empty or invalid.
    case invalidPath(String)
    /// A node is not valid UnixFS.
    case invalidNode(String)
    /// A block the DAG needs is not available from the block source.
    case blockNotFound(cid: String)
    /// A path segment does not exist.
    case pathNotFound(String)
    /// The node is not a directory but the path continues through it.
    case notADirectory(String)
    /// The node is a directory where a file was expected.
    case isADirectory(String)
    /// The requested byte range is outside the file.
    case rangeNotSatisfiable(start: UInt64, end: UInt64?, size: UInt64)
    /// A bound that keeps memory or work limited was reached.
    case limitExceeded(String)
    /// An I/O failure.
    case io(String)

    public var description: String {
        switch self {
        case .blockExceedsShardSize(let c): return "block \(c) is larger than the shard size; use a larger --shard-size"
        case .pathConflict(let p): return "\"\(p)\" cannot be both a file and a directory (or appears twice)"
        case .invalidPath(let p): return "invalid path \"\(p)\""
        case .invalidNode(let r): return "invalid UnixFS: \(r)"
        case .blockNotFound(let c): return "block \(c) is not available"
        case .pathNotFound(let p): return "no such path: \(p)"
        case .notADirectory(let p): return "not a directory: \(p)"
        case .isADirectory(let p): return "is a directory: \(p)"
        case .rangeNotSatisfiable(let s, let e, let size):
            return "byte range \(s)-\(e.map(String.init) ?? "") is outside the file (size \(size))"
        case .limitExceeded(let r): return r
        case .io(let r): return r
        }
    }
}
