import Foundation
import IPLD
import Multiformats
import CAR

/// A file to import: its `/`-separated name and where its bytes come from.
public struct ImportFile: Sendable, Hashable {
    /// Where the bytes of a file come from.
    public enum Content: Sendable, Hashable {
        /// A file on disk, read as a stream.
        case file(URL)
        /// Bytes in memory.
        case data(Data)
        /// Files on disk read one after another as one stream (a multipart object's parts).
        case files([URL])
    }

    /// Path inside the upload, `/`-separated (a leading `/` or `./` is dropped).
    public var name: String
    /// Size in bytes, when known in advance.
    public var size: UInt64
    /// The bytes.
    public var content: Content

    /// Creates an import file.
    public init(name: String, size: UInt64, content: Content) {
        self.name = name
        self.size = size
        self.content = content
    }

    /// A file held in memory.
    public init(name: String, data: Data) {
        self.init(name: name, size: UInt64(data.count), content: .data(data))
    }

    /// Imports the bytes with `importer`.
    func importContent(_ importer: FileImporter) throws -> UnixFSLink {
        switch content {
        case .data(let data):
            var source = MemoryByteSource(data)
            return try importer.importFile(from: &source)
        case .file(let url):
            let handle: FileHandle
            do { handle = try FileHandle(forReadingFrom: url) } catch {
                throw UnixFSError.io("cannot read \(url.path): \(error.localizedDescription)")
            }
            defer { try? handle.close() }
            var source = FileByteSource(handle: handle)
            return try importer.importFile(from: &source)
        case .files(let urls):
            var source = ConcatenatedFileSource(urls)
            defer { source.close() }
            return try importer.importFile(from: &source)
        }
    }
}

/// Files read one after another as one byte stream.
struct ConcatenatedFileSource: ByteSource {
    let urls: [URL]
    /// The index in `urls` of the next file to open.
    var next = 0
    var current: FileHandle?

    init(_ urls: [URL]) { self.urls = urls }

    mutating func read(upTo maxLength: Int) throws -> Data {
        while true {
            if let handle = current {
                let data = try handle.read(upToCount: maxLength) ?? Data()
                if !data.isEmpty { return data }
                try? handle.close()
                current = nil
            }
            guard next < urls.count else { return Data() }
            let url = urls[next]
            next += 1
            do { current = try FileHandle(forReadingFrom: url) } catch {
                throw UnixFSError.io("cannot read \(url.path): \(error.localizedDescription)")
            }
        }
    }

    mutating func close() {
        try? current?.close()
        current = nil
    }
}

/// Builds a UnixFS directory from files the way the JS client's `uploadDirectory` does:
/// files sorted by name in UTF-16 order, nested insertion-ordered directories, post-order emission,
/// flat directories up to the HAMT threshold and HAMT shards above it.
public struct DirectoryImporter {
    let settings: ImportSettings
    let sink: BlockSink

    /// Creates an importer writing blocks to `sink`.
    public init(settings: ImportSettings = .storacha, sink: BlockSink) {
        self.settings = settings
        self.sink = sink
    }

    /// The JS `defaultFileComparator`: ascending by name, comparing UTF-16 code units.
    public static func jsOrder(_ a: String, _ b: String) -> Bool {
        a.utf16.lexicographicallyPrecedes(b.utf16)
    }

    /// Imports `files` under one root directory and returns its link.
    /// - Parameter sorted: sort by name first (the JS default); pass `false` to keep the given order.
    public func importDirectory(_ files: [ImportFile], sorted: Bool = true) throws -> UnixFSLink {
        let ordered = sorted ? files.sorted { DirectoryImporter.jsOrder($0.name, $1.name) } : files
        let root = try DirectoryTree.build(ordered)
        return try finalize(root)
    }

    /// One directory of already imported entries (name → link), flat up to the HAMT threshold and a HAMT shard
    /// above it, as ``importDirectory(_:sorted:)`` makes each of its directories; its blocks go to the sink.
    public func directory(_ entries: [(name: String, link: UnixFSLink)]) throws -> UnixFSLink {
        let links = entries.map { ($0.name, $0.link) }
        if links.count <= settings.hamtThreshold { return try DirectoryNode.flat(links, sink: sink) }
        return try HAMTBuilder(sink: sink).build(links)
    }

    func finalize(_ dir: DirectoryTree) throws -> UnixFSLink {
        var links: [(String, UnixFSLink)] = []
        links.reserveCapacity(dir.order.count)
        let fileImporter = FileImporter(settings: settings, sink: sink)
        for name in dir.order {
            switch dir.entries[name] {
            case .file(let f)?: links.append((name, try f.importContent(fileImporter)))
            case .directory(let d)?: links.append((name, try finalize(d)))
            case nil: continue
            }
        }
        if links.count <= settings.hamtThreshold {
            return try DirectoryNode.flat(links, sink: sink)
        }
        return try HAMTBuilder(sink: sink).build(links)
    }
}

/// The nested, insertion-ordered directory tree built from the file names.
final class DirectoryTree {
    enum Entry {
        case file(ImportFile)
        case directory(DirectoryTree)
    }

    var order: [String] = []
    var entries: [String: Entry] = [:]

    static func build(_ files: [ImportFile]) throws -> DirectoryTree {
        let root = DirectoryTree()
        for file in files {
            var parts = file.name.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
            if let first = parts.first, first == "" || first == "." { parts.removeFirst() }
            guard let last = parts.last, !last.isEmpty else { throw UnixFSError.invalidPath(file.name) }
            var dir = root
            for part in parts.dropLast() {
                switch dir.entries[part] {
                case .directory(let d)?: dir = d
                case .file?: throw UnixFSError.pathConflict(file.name)
                case nil:
                    let d = DirectoryTree()
                    dir.entries[part] = .directory(d)
                    dir.order.append(part)
                    dir = d
                }
            }
            guard dir.entries[last] == nil else { throw UnixFSError.pathConflict(file.name) }
            dir.entries[last] = .file(file)
            dir.order.append(last)
        }
        return root
    }
}

/// Flat UnixFS directory nodes.
enum DirectoryNode {
    static func flat(_ entries: [(String, UnixFSLink)], sink: BlockSink) throws -> UnixFSLink {
        let sorted = entries.map { (Array($0.0.utf8), $0.0, $0.1) }.sorted { $0.0.lexicographicallyPrecedes($1.0) }
        let node = PBNode(
            links: sorted.map { PBLink(hash: $0.2.cid, name: $0.1, tsize: $0.2.dagSize) },
            data: UnixFSData(kind: .directory).encode())
        let bytes = DAGPB.encode(node)
        let block = Block(codec: CID.Codec.dagPB, bytes: Data(bytes))
        try sink.put(block)
        let dagSize = UInt64(bytes.count) + entries.reduce(0) { $0 + $1.1.dagSize }
        return UnixFSLink(cid: block.cid, dagSize: dagSize, contentSize: 0)
    }
}
