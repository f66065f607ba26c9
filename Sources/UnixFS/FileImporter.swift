import Foundation
import IPLD
import Multiformats
import CAR

/// Encodes one file as UnixFS exactly like `@ipld/unixfs` with the Storacha settings:
/// fixed-size raw leaves, a balanced layout of DAG-PB file nodes, and the JS block emission order.
public struct FileImporter {
    let settings: ImportSettings
    let sink: BlockSink

    /// Creates an importer writing blocks to `sink`.
    public init(settings: ImportSettings = .storacha, sink: BlockSink) {
        self.settings = settings
        self.sink = sink
    }

    /// Reads `source` to its end and emits the file's blocks; returns the root link.
    public func importFile<S: ByteSource>(from source: inout S) throws -> UnixFSLink {
        var layout = BalancedLayout(width: settings.fileWidth, sink: sink)
        var first: (Block, UnixFSLink)? = nil
        var count = 0
        while true {
            let chunk = try FileImporter.readChunk(&source, size: settings.chunkSize)
            if chunk.isEmpty && count > 0 { break }
            let block = Block(codec: CID.Codec.raw, bytes: chunk)
            let link = UnixFSLink(cid: block.cid, dagSize: UInt64(chunk.count), contentSize: UInt64(chunk.count))
            count += 1
            if count == 1 {
                // Hold the first leaf until we know whether the file has a second one.
                first = (block, link)
                if chunk.count < settings.chunkSize { break }
                continue
            }
            if let (b, l) = first {
                try layout.addLeaf(b, l)
                first = nil
            }
            try layout.addLeaf(block, link)
            if chunk.count < settings.chunkSize { break }
        }
        if let (b, l) = first {
            // 0 or 1 chunk: the file is that single raw block.
            try sink.put(b)
            return l
        }
        return try layout.close()
    }

    /// Reads exactly `size` bytes unless the source ends first.
    static func readChunk<S: ByteSource>(_ source: inout S, size: Int) throws -> Data {
        var chunk = try source.read(upTo: size)
        guard !chunk.isEmpty else { return chunk }
        while chunk.count < size {
            let more = try source.read(upTo: size - chunk.count)
            if more.isEmpty { break }
            chunk.append(more)
        }
        return chunk
    }
}

/// The balanced file layout of `@ipld/unixfs` (nodes of at most `width` children, filled from the
/// left) with its block emission order: a node completed by the k-th leaf goes out after leaf k+1.
struct BalancedLayout {
    let width: Int
    let sink: BlockSink
    var leaves: [UnixFSLink] = []
    var rows: [[UnixFSLink]] = []
    var deferred: [Block] = []

    init(width: Int, sink: BlockSink) {
        self.width = width
        self.sink = sink
    }

    mutating func addLeaf(_ block: Block, _ link: UnixFSLink) throws {
        try sink.put(block)
        for b in deferred { try sink.put(b) }
        deferred.removeAll()
        leaves.append(link)
        if leaves.count >= width {
            let children = Array(leaves.prefix(width))
            leaves.removeFirst(width)
            push(level: 0, node: makeNode(children, into: &deferred))
            var level = 0
            while level < rows.count {
                while rows[level].count >= width {
                    let children = Array(rows[level].prefix(width))
                    rows[level].removeFirst(width)
                    push(level: level + 1, node: makeNode(children, into: &deferred))
                }
                level += 1
            }
        }
    }

    mutating func push(level: Int, node: UnixFSLink) {
        while rows.count <= level { rows.append([]) }
        rows[level].append(node)
    }

    mutating func close() throws -> UnixFSLink {
        for b in deferred { try sink.put(b) }
        deferred.removeAll()
        var emitted: [Block] = []
        while !leaves.isEmpty {
            let children = Array(leaves.prefix(width))
            leaves.removeFirst(children.count)
            push(level: 0, node: makeNode(children, into: &emitted))
        }
        var level = 0
        while level < rows.count {
            while rows[level].count >= width || (!rows[level].isEmpty && level < rows.count - 1) {
                let children = Array(rows[level].prefix(width))
                rows[level].removeFirst(children.count)
                push(level: level + 1, node: makeNode(children, into: &emitted))
            }
            level += 1
        }
        for b in emitted { try sink.put(b) }
        let top = rows[rows.count - 1]
        if top.count == 1 { return top[0] }
        var rootBlocks: [Block] = []
        let root = makeNode(top, into: &rootBlocks)
        for b in rootBlocks { try sink.put(b) }
        return root
    }

    func makeNode(_ children: [UnixFSLink], into out: inout [Block]) -> UnixFSLink {
        let (block, link) = FileNode.encode(children)
        out.append(block)
        return link
    }
}

/// Encodes a UnixFS file node over `children`.
enum FileNode {
    static func encode(_ children: [UnixFSLink]) -> (Block, UnixFSLink) {
        let filesize = children.reduce(0) { $0 + $1.contentSize }
        let data = UnixFSData(kind: .file, filesize: filesize, blocksizes: children.map(\.contentSize))
        let node = PBNode(links: children.map { PBLink(hash: $0.cid, name: "", tsize: $0.dagSize) }, data: data.encode())
        let bytes = DAGPB.encode(node)
        let block = Block(codec: CID.Codec.dagPB, bytes: Data(bytes))
        let dagSize = UInt64(bytes.count) + children.reduce(0) { $0 + $1.dagSize }
        return (block, UnixFSLink(cid: block.cid, dagSize: dagSize, contentSize: filesize))
    }
}
