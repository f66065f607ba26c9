import Foundation
import IPLD
import Multiformats
import CAR

/// Options for packing an upload into CAR shards.
public struct PackOptions: Sendable, Hashable {
    /// The JS client's default shard size (127 MiB).
    public static let defaultShardSize = 133_169_152

    /// Maximum shard size in bytes.
    public var shardSize: Int
    /// Wrap a single file in a directory (the CLI default); ignored for several files.
    public var wrap: Bool
    /// UnixFS parameters (dedupe lives here).
    public var settings: ImportSettings

    /// Creates options.
    public init(shardSize: Int = PackOptions.defaultShardSize, wrap: Bool = true, settings: ImportSettings = .storacha) {
        self.shardSize = shardSize
        self.wrap = wrap
        self.settings = settings
    }
}

/// The outcome of packing: the DAG root, its shards on disk and the sharded DAG index.
public struct PackResult: Sendable {
    /// Root CID of the content.
    public let root: CID
    /// The shards in upload order.
    public let shards: [ShardInfo]
    /// The sharded DAG index over the shards.
    public let index: ShardedDAGIndex
}

/// Turns files into the exact CAR shards `storacha up` uploads.
public enum Packer {
    /// The smallest shard size that can hold a CAR header and a block.
    public static let minimumShardSize = 128

    /// Packs `files` into CAR shards written to `directory`.
    ///
    /// A single file with `wrap == false` is encoded on its own (`uploadFile`), anything else under a
    /// root directory (`uploadDirectory`). When the total input size is below the shard size the
    /// result is one CAR (the JS single-CAR path); otherwise blocks stream into shards. With `pieces`,
    /// each shard's Filecoin piece is computed while it is written; `onShard` hears of each shard as soon
    /// as its file is complete (an error it throws stops packing).
    public static func pack(_ files: [ImportFile], options: PackOptions = PackOptions(), pieces: Bool = false, into directory: URL,
                            onShard: ((ShardInfo) throws -> Void)? = nil) throws -> PackResult {
        guard options.shardSize >= minimumShardSize else {
            throw UnixFSError.invalidPath("shard size must be at least \(minimumShardSize) bytes")
        }
        let total = files.reduce(UInt64(0)) { $0 + $1.size }
        let single = total < UInt64(options.shardSize)
        let writer = CARShardWriter(directory: directory, shardSize: single ? nil : options.shardSize, pieces: pieces, onFinished: onShard)
        let pipeline = PipelinedSink(writer)
        let sink: BlockSink = options.settings.dedupe ? DeduplicatingSink(pipeline) : pipeline
        do {
            let root: UnixFSLink
            do {
                root = try encode(files, options: options, sink: sink)
            } catch {
                try? pipeline.close()
                throw error
            }
            try pipeline.close()
            let shards = try writer.finish(root: root.cid)
            return PackResult(root: root.cid, shards: shards, index: ShardedDAGIndex(content: root.cid, shards: shards))
        } catch {
            writer.abandon()
            throw error
        }
    }

    /// Re-shards the blocks of an existing CAR (`storacha up --car`, the JS `uploadCAR`): the root is
    /// the CAR header's first root; every block is verified against its CID while it is read. `pieces`
    /// and `onShard` are those of ``pack(_:options:pieces:into:onShard:)``.
    public static func repack(car url: URL, options: PackOptions = PackOptions(), pieces: Bool = false, into directory: URL,
                              onShard: ((ShardInfo) throws -> Void)? = nil) throws -> PackResult {
        guard options.shardSize >= minimumShardSize else {
            throw UnixFSError.invalidPath("shard size must be at least \(minimumShardSize) bytes")
        }
        let handle = try FileHandle(forReadingFrom: url)
        defer { try? handle.close() }
        let size = (try? FileManager.default.attributesOfItem(atPath: url.path)[.size] as? NSNumber)?.uint64Value ?? UInt64.max
        var reader = try CARReader(source: FileByteSource(handle: handle))
        guard let root = reader.header.roots.first else { throw UnixFSError.invalidPath("\(url.path) has no root in its CAR header") }
        let writer = CARShardWriter(directory: directory, shardSize: size < UInt64(options.shardSize) ? nil : options.shardSize,
                                    pieces: pieces, onFinished: onShard)
        let sink: BlockSink = options.settings.dedupe ? DeduplicatingSink(writer) : writer
        do {
            while let next = try reader.next() { try sink.put(next.block) }
            let shards = try writer.finish(root: root)
            return PackResult(root: root, shards: shards, index: ShardedDAGIndex(content: root, shards: shards))
        } catch {
            writer.abandon()
            throw error
        }
    }

    /// Computes only the root CID, writing nothing.
    public static func rootCID(_ files: [ImportFile], options: PackOptions = PackOptions()) throws -> CID {
        try encode(files, options: options, sink: DiscardingSink()).cid
    }

    static func encode(_ files: [ImportFile], options: PackOptions, sink: BlockSink) throws -> UnixFSLink {
        if files.count == 1 && !options.wrap {
            return try files[0].importContent(FileImporter(settings: options.settings, sink: sink))
        }
        return try DirectoryImporter(settings: options.settings, sink: sink).importDirectory(files)
    }
}

/// A sink that drops every block (for computing CIDs only).
public final class DiscardingSink: BlockSink {
    /// Creates the sink.
    public init() {}
    public func put(_ block: Block) throws {}
}
