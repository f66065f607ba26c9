import Foundation
import IPLD
import Multiformats
import UnixFS

/// Builds a bucket's snapshot blocks from its objects in key order (UTF-8 bytes), one directory at a time:
/// keys with a common prefix follow one another, so only the directories on the current key's path are open,
/// and memory holds their entries, not the bucket. Each directory becomes a UnixFS node (flat, or a HAMT shard
/// above 1,000 entries, linking the objects' roots) and a metadata node (``SnapshotMetadata``); every block goes
/// to `emit` as it is made, children before parents.
final class SnapshotBuilder {
    private struct OpenDirectory {
        var name: String
        var files: [(name: String, link: UnixFSLink)] = []
        var meta: [(String, SnapshotEntry)] = []
    }

    private let directories: Set<String>
    private let emit: (Block) throws -> Void
    private let sink: EmittingSink
    private var stack = [OpenDirectory(name: "")]
    private var unpathed: [(String, SnapshotEntry)] = []
    private var previous: String?

    /// A builder for a bucket whose keys have `directories` as their directories (``SnapshotPaths/directories(of:)``).
    init(directories: Set<String>, emit: @escaping (Block) throws -> Void) {
        self.directories = directories
        self.emit = emit
        sink = EmittingSink(emit)
    }

    /// Adds the next object; keys must come in ascending UTF-8 byte order.
    func add(_ key: String, _ object: SnapshotObject) throws {
        if let previous, !previous.utf8.lexicographicallyPrecedes(key.utf8) {
            throw SnapshotFormatError("keys out of order: \(key) after \(previous)")
        }
        previous = key
        guard let parts = SnapshotPaths.segments(key), !directories.contains(key) else {
            unpathed.append((key, .object(object)))
            return
        }
        let path = parts.dropLast()
        var common = 0
        while common < path.count, common + 1 < stack.count, stack[common + 1].name == path[path.startIndex + common] { common += 1 }
        while stack.count > common + 1 { try closeTop() }
        for name in path.dropFirst(common) { stack.append(OpenDirectory(name: name)) }
        let name = parts[parts.count - 1]
        stack[stack.count - 1].files.append((name, UnixFSLink(cid: object.root, dagSize: object.size, contentSize: object.size)))
        stack[stack.count - 1].meta.append((name, .object(object)))
    }

    /// Closes every directory; returns the UnixFS root and the root's metadata node.
    func finish() throws -> (tree: CID, meta: CID) {
        while stack.count > 1 { try closeTop() }
        let root = stack[0]
        let tree = try DirectoryImporter(sink: sink).directory(root.files)
        var node: [String: IPLDValue] = ["entries": try SnapshotMetadata.list(sorted(root.meta), emit: emit)]
        if !unpathed.isEmpty { node["keys"] = try SnapshotMetadata.list(unpathed, emit: emit) }
        let meta = try Block(dagCBOR: .map(node))
        try emit(meta)
        return (tree.cid, meta.cid)
    }

    private func closeTop() throws {
        let dir = stack.removeLast()
        let link = try DirectoryImporter(sink: sink).directory(dir.files)
        let meta = try Block(dagCBOR: .map(["entries": try SnapshotMetadata.list(sorted(dir.meta), emit: emit)]))
        try emit(meta)
        stack[stack.count - 1].files.append((dir.name, link))
        stack[stack.count - 1].meta.append((dir.name, .directory(meta.cid)))
    }

    private func sorted(_ entries: [(String, SnapshotEntry)]) -> [(String, SnapshotEntry)] {
        entries.sorted { $0.0.utf8.lexicographicallyPrecedes($1.0.utf8) }
    }
}

/// Hands every block a UnixFS importer makes to a closure.
private final class EmittingSink: BlockSink {
    let emit: (Block) throws -> Void
    init(_ emit: @escaping (Block) throws -> Void) { self.emit = emit }
    func put(_ block: Block) throws { try emit(block) }
}
