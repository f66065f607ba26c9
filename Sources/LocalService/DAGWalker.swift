import Foundation
import IPLD
import Multiformats
import UnixFS

/// Which blocks of the target a CAR response carries (the trustless gateway's `dag-scope`).
enum DAGScope: String, Sendable {
    /// The whole DAG under the target.
    case all
    /// The blocks needed to read the target as one entity (a file's bytes, a directory's own blocks).
    case entity
    /// Only the target block.
    case block
}

/// Depth-first traversal of a UnixFS DAG for CAR responses. Each subtree is walked in full at most
/// once (a DAG that links one block from many places costs its distinct blocks, not its paths), and
/// every offset is computed with checked arithmetic, so a hostile DAG can only produce an error.
struct DAGWalker {
    /// Deepest file or directory tree accepted.
    static let maxDepth = 64

    struct Walked: Hashable {
        let cid: CID
        let scope: DAGScope
    }

    /// Subtrees already walked without a byte range, by scope.
    var walked = Set<Walked>()

    /// Walks `cid` in `scope`, handing each block to `emit` (which returns its bytes); `range` limits a
    /// file to the blocks that hold those bytes.
    mutating func walk(_ cid: CID, scope: DAGScope, range: Range<UInt64>?, emit: (CID) async throws -> Data) async throws {
        try await visit(cid, scope: scope, range: range, depth: 0, emit: emit)
    }

    mutating func visit(_ cid: CID, scope: DAGScope, range: Range<UInt64>?, depth: Int,
                        emit: (CID) async throws -> Data) async throws {
        guard depth <= DAGWalker.maxDepth else { throw UnixFSError.invalidNode("DAG deeper than \(DAGWalker.maxDepth) levels") }
        let key = Walked(cid: cid, scope: scope)
        if range == nil, walked.contains(key) { return }
        let bytes = try await emit(cid)
        defer { if range == nil { walked.insert(key) } }
        guard scope != .block, cid.codec == CID.Codec.dagPB else { return }
        let node = try DAGPB.decode(bytes)
        guard let raw = node.data else { return }
        let data = try UnixFSData(bytes: raw)
        switch data.kind {
        case .file, .raw:
            var offset = UInt64(data.data?.count ?? 0)
            for (link, size) in zip(node.links, data.blocksizes) {
                let (end, overflow) = offset.addingReportingOverflow(size)
                guard !overflow else { throw UnixFSError.invalidNode("block sizes of \(cid) add up to more than 2^64 bytes") }
                let span = offset..<end
                offset = end
                guard let range else {
                    try await visit(link.hash, scope: .all, range: nil, depth: depth + 1, emit: emit)
                    continue
                }
                guard span.overlaps(range) else { continue }
                if range.lowerBound <= span.lowerBound && span.upperBound <= range.upperBound {
                    try await visit(link.hash, scope: .all, range: nil, depth: depth + 1, emit: emit)
                } else {
                    let lower = max(range.lowerBound, span.lowerBound) - span.lowerBound
                    let upper = min(range.upperBound, span.upperBound) - span.lowerBound
                    try await visit(link.hash, scope: .all, range: lower..<upper, depth: depth + 1, emit: emit)
                }
            }
        case .hamtShard:
            for link in node.links {
                let isShard = (link.name ?? "").utf8.count == 2
                if isShard {
                    try await visit(link.hash, scope: scope, range: nil, depth: depth + 1, emit: emit)
                } else if scope == .all {
                    try await visit(link.hash, scope: .all, range: nil, depth: depth + 1, emit: emit)
                }
            }
        case .directory:
            guard scope == .all else { return }
            for link in node.links { try await visit(link.hash, scope: .all, range: nil, depth: depth + 1, emit: emit) }
        default:
            return
        }
    }
}
