import Foundation
import IPLD
import Multiformats

/// What a UnixFS node is.
public enum UnixFSEntryKind: String, Sendable, Hashable {
    case file, directory, symlink, raw
}

/// A resolved UnixFS node.
public struct UnixFSEntry: Sendable, Hashable {
    /// Its CID.
    public let cid: CID
    /// File, directory, symlink.
    public let kind: UnixFSEntryKind
    /// Content size for files (0 for directories).
    public let size: UInt64
}

/// A directory entry.
public struct UnixFSDirectoryEntry: Sendable, Hashable {
    /// Entry name.
    public let name: String
    /// Entry CID.
    public let cid: CID
    /// Cumulative DAG size from the parent's link.
    public let dagSize: UInt64
}

/// Reads UnixFS DAGs from any ``BlockSource``: path resolution, directory listing (flat and HAMT),
/// and streaming file contents with byte ranges.
public struct UnixFSExporter: Sendable {
    let source: any BlockSource

    /// Reads from `source`.
    public init(source: any BlockSource) { self.source = source }

    enum Node {
        case raw(Data)
        case pb(PBNode, UnixFSData)
    }

    func load(_ cid: CID) async throws -> Node {
        let bytes = try await source.block(cid)
        switch cid.codec {
        case CID.Codec.raw: return .raw(bytes)
        case CID.Codec.dagPB:
            let node = try DAGPB.decode(bytes)
            guard let data = node.data else { throw UnixFSError.invalidNode("\(cid) has no UnixFS data") }
            return .pb(node, try UnixFSData(bytes: data))
        default:
            throw UnixFSError.invalidNode("\(cid) has codec 0x\(String(cid.codec, radix: 16)), not raw or dag-pb")
        }
    }

    /// Describes the node at `cid`.
    public func stat(_ cid: CID) async throws -> UnixFSEntry {
        try entry(cid, try await load(cid))
    }

    func entry(_ cid: CID, _ node: Node) throws -> UnixFSEntry {
        switch node {
        case .raw(let d): return UnixFSEntry(cid: cid, kind: .raw, size: UInt64(d.count))
        case .pb(_, let u):
            switch u.kind {
            case .directory, .hamtShard: return UnixFSEntry(cid: cid, kind: .directory, size: 0)
            case .symlink: return UnixFSEntry(cid: cid, kind: .symlink, size: UInt64(u.data?.count ?? 0))
            case .file, .raw:
                let size = u.filesize ?? UInt64(u.data?.count ?? 0)
                // Sizes travel as Int64 in HTTP and file APIs; a larger one is a hostile DAG.
                guard size <= UInt64(Int64.max) else { throw UnixFSError.invalidNode("\(cid) declares \(size) bytes") }
                return UnixFSEntry(cid: cid, kind: .file, size: size)
            case .metadata: throw UnixFSError.invalidNode("metadata nodes are not supported")
            }
        }
    }

    /// Follows `path` (`/`-separated, empty segments ignored) from `root`.
    public func resolve(_ root: CID, path: String) async throws -> CID {
        var current = root
        var walked = root.description
        for segment in path.split(separator: "/") where !segment.isEmpty {
            let name = String(segment)
            switch try await load(current) {
            case .raw: throw UnixFSError.notADirectory(walked)
            case .pb(let node, let u):
                switch u.kind {
                case .directory:
                    guard let link = node.links.first(where: { $0.name == name }) else { throw UnixFSError.pathNotFound(walked + "/" + name) }
                    current = link.hash
                case .hamtShard:
                    guard let found = try await hamtLookup(node, u, name: name, depth: 0) else { throw UnixFSError.pathNotFound(walked + "/" + name) }
                    current = found
                default:
                    throw UnixFSError.notADirectory(walked)
                }
            }
            walked += "/" + name
        }
        return current
    }

    func hamtLookup(_ node: PBNode, _ data: UnixFSData, name: String, depth: Int) async throws -> CID? {
        guard data.hashType == Multihash.murmur3x64_64Code, data.fanout == 256 else {
            throw UnixFSError.invalidNode("unsupported HAMT (hash 0x\(String(data.hashType ?? 0, radix: 16)), fanout \(data.fanout ?? 0))")
        }
        guard depth < 64 else { throw UnixFSError.invalidNode("HAMT deeper than 64 levels") }
        var key = HAMTKey(name)
        let prefix = HAMTKey.prefix(key.slot(depth: depth))
        for link in node.links {
            guard let linkName = link.name, linkName.hasPrefix(prefix) else { continue }
            if linkName == prefix {
                guard case .pb(let child, let childData) = try await load(link.hash), childData.kind == .hamtShard else {
                    throw UnixFSError.invalidNode("HAMT sub-shard \(link.hash) is not a shard")
                }
                return try await hamtLookup(child, childData, name: name, depth: depth + 1)
            }
            if linkName.dropFirst(2) == name { return link.hash }
        }
        return nil
    }

    /// Lists a directory (a HAMT is flattened; entries sorted by name bytes).
    public func list(_ cid: CID) async throws -> [UnixFSDirectoryEntry] {
        guard case .pb(let node, let u) = try await load(cid) else { throw UnixFSError.notADirectory(cid.description) }
        switch u.kind {
        case .directory:
            return node.links.map { UnixFSDirectoryEntry(name: $0.name ?? "", cid: $0.hash, dagSize: $0.tsize ?? 0) }
        case .hamtShard:
            var out: [UnixFSDirectoryEntry] = []
            try await collectHAMT(node, depth: 0, into: &out)
            return out.sorted { Array($0.name.utf8).lexicographicallyPrecedes(Array($1.name.utf8)) }
        default:
            throw UnixFSError.notADirectory(cid.description)
        }
    }

    func collectHAMT(_ node: PBNode, depth: Int, into out: inout [UnixFSDirectoryEntry]) async throws {
        var seen = Set<CID>()
        try await collectHAMT(node, depth: depth, seen: &seen, into: &out)
    }

    /// A HAMT links each sub-shard once; `seen` refuses a DAG that links one many times (which would
    /// otherwise cost its paths, not its blocks).
    func collectHAMT(_ node: PBNode, depth: Int, seen: inout Set<CID>, into out: inout [UnixFSDirectoryEntry]) async throws {
        guard depth < 64 else { throw UnixFSError.invalidNode("HAMT deeper than 64 levels") }
        for link in node.links {
            guard let name = link.name, name.utf8.count >= 2 else { throw UnixFSError.invalidNode("HAMT link without a slot prefix") }
            if name.utf8.count == 2 {
                guard seen.insert(link.hash).inserted else { throw UnixFSError.invalidNode("HAMT links sub-shard \(link.hash) twice") }
                guard case .pb(let child, let u) = try await load(link.hash), u.kind == .hamtShard else {
                    throw UnixFSError.invalidNode("HAMT sub-shard \(link.hash) is not a shard")
                }
                try await collectHAMT(child, depth: depth + 1, seen: &seen, into: &out)
            } else {
                out.append(UnixFSDirectoryEntry(name: String(name.dropFirst(2)), cid: link.hash, dagSize: link.tsize ?? 0))
            }
        }
    }

    /// Streams the bytes of the file at `cid` in `range` (half-open; `nil` for the whole file) to `write`.
    public func read(_ cid: CID, range: Range<UInt64>? = nil, to write: (Data) async throws -> Void) async throws {
        let root = try await load(cid)
        let entry = try entry(cid, root)
        guard entry.kind == .file || entry.kind == .raw else {
            throw entry.kind == .directory ? UnixFSError.isADirectory(cid.description) : UnixFSError.invalidNode("\(cid) is a symlink")
        }
        let wanted = range ?? 0..<entry.size
        guard wanted.lowerBound <= wanted.upperBound, wanted.upperBound <= entry.size else {
            throw UnixFSError.rangeNotSatisfiable(start: wanted.lowerBound, end: wanted.upperBound, size: entry.size)
        }
        if wanted.isEmpty { return }
        try await readNode(cid, loaded: root, nodeStart: 0, size: entry.size, wanted: wanted, depth: 0, write: write)
    }

    /// Streams the part of `wanted` that lies in the node at `cid`, which its parent says holds `size`
    /// bytes from `nodeStart`. Every size is checked against the node's own (inline data, block sizes,
    /// `filesize`) with overflow-reporting arithmetic: a DAG that lies about sizes is an error, never a
    /// trap or a response of the wrong length.
    func readNode(_ cid: CID, loaded: Node? = nil, nodeStart: UInt64, size: UInt64, wanted: Range<UInt64>, depth: Int,
                  write: (Data) async throws -> Void) async throws {
        guard depth < 64 else { throw UnixFSError.invalidNode("file DAG deeper than 64 levels") }
        let node: Node
        if let loaded { node = loaded } else { node = try await load(cid) }
        switch node {
        case .raw(let data):
            guard UInt64(data.count) == size else {
                throw UnixFSError.invalidNode("\(cid) holds \(data.count) bytes but its parent says \(size)")
            }
            try await emit(data, at: nodeStart, wanted: wanted, write: write)
        case .pb(let node, let u):
            guard u.kind == .file || u.kind == .raw else { throw UnixFSError.invalidNode("\(cid) inside a file is not a file node") }
            guard u.blocksizes.count == node.links.count else {
                throw UnixFSError.invalidNode("\(cid) has \(node.links.count) links but \(u.blocksizes.count) block sizes")
            }
            let inlineCount = UInt64(u.data?.count ?? 0)
            var total = inlineCount
            for s in u.blocksizes {
                let (sum, overflow) = total.addingReportingOverflow(s)
                guard !overflow else { throw UnixFSError.invalidNode("block sizes of \(cid) add up to more than 2^64 bytes") }
                total = sum
            }
            guard total == size, u.filesize == nil || u.filesize == size else {
                let declared = u.filesize.map(String.init) ?? "none"
                throw UnixFSError.invalidNode("\(cid) holds \(total) bytes (filesize \(declared)) but its parent says \(size)")
            }
            // nodeStart + size ≤ the file size, so no offset below can overflow.
            var offset = nodeStart
            var wantedChildren: [CID] = []
            var childStart = offset + inlineCount
            for (link, childSize) in zip(node.links, u.blocksizes) {
                if (childStart..<(childStart + childSize)).overlaps(wanted) { wantedChildren.append(link.hash) }
                childStart += childSize
            }
            await source.prefetch(wantedChildren)
            if let inline = u.data, !inline.isEmpty {
                try await emit(Data(inline), at: offset, wanted: wanted, write: write)
                offset += inlineCount
            }
            for (link, childSize) in zip(node.links, u.blocksizes) {
                let childRange = offset..<(offset + childSize)
                if childRange.overlaps(wanted) {
                    try await readNode(link.hash, nodeStart: offset, size: childSize, wanted: wanted, depth: depth + 1, write: write)
                }
                offset += childSize
                if offset >= wanted.upperBound { break }
            }
        }
    }

    func emit(_ data: Data, at start: UInt64, wanted: Range<UInt64>, write: (Data) async throws -> Void) async throws {
        let end = start + UInt64(data.count)
        let lo = max(start, wanted.lowerBound)
        let hi = min(end, wanted.upperBound)
        guard lo < hi else { return }
        if lo == start && hi == end { try await write(data); return }
        let base = data.startIndex
        try await write(data.subdata(in: (base + Int(lo - start))..<(base + Int(hi - start))))
    }
}
