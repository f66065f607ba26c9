import Foundation
import Crypto
import IPLD
import Multiformats
import CAR
import Piece

/// One CAR shard written to disk.
public struct ShardInfo: Sendable, Hashable {
    /// Shard CID: CIDv1, codec CAR (0x0202), sha2-256 of the CAR bytes.
    public let cid: CID
    /// CAR size in bytes.
    public let size: UInt64
    /// Roots in the CAR header (only the last shard has one).
    public let roots: [CID]
    /// Where the file is.
    public let url: URL
    /// CIDs of the blocks, in CAR order.
    public let blocks: [CID]
    /// Per block: multihash, byte offset of the block data in the CAR, data length.
    public let slices: [Slice]
    /// The shard's Filecoin piece, computed while it was written (when the writer was asked for pieces).
    public var piece: Piece?

    /// A block's position in a shard.
    public struct Slice: Sendable, Hashable {
        /// Multihash of the block.
        public let multihash: Multihash
        /// Offset of the block data from the start of the CAR.
        public let offset: UInt64
        /// Length of the block data.
        public let length: UInt64
    }
}

/// Packs a block stream into CAR shards on disk exactly like the JS `ShardingStream`: greedy packing
/// under `shardSize`, headers without roots except on the last shard, and the overflow rule when the
/// root-bearing header does not fit. With `shardSize == nil` it writes a single CAR (the JS
/// single-CAR path). Files are written under temporary names and renamed to `<shardCID>.car`;
/// on failure call ``abandon()`` to delete everything it wrote.
public final class CARShardWriter: BlockSink {
    /// The CAR header length with no roots.
    public static let noRootsHeaderLength = 18

    let directory: URL
    let shardSize: Int?
    let fileNamer: (CID) -> String
    let pieces: Bool
    let onFinished: ((ShardInfo) throws -> Void)?
    var current: OpenShard?
    var finished: [ShardInfo] = []
    var lastCID: CID?
    var tempCounter = 0
    let tempPrefix = ".storacha-shard-\(UInt64.random(in: 0...UInt64.max))"

    /// Shards completed so far.
    public var shards: [ShardInfo] { finished }

    struct Entry {
        let cid: CID
        let prefixLength: Int
        let dataLength: Int
        var sectionLength: Int { prefixLength + dataLength }
    }

    final class OpenShard {
        let url: URL
        let handle: FileHandle
        var hasher: SHA256?
        var piece: PieceHasher?
        var entries: [Entry] = []
        var bodyLength = 0

        init(url: URL, handle: FileHandle, hashing: Bool, pieces: Bool) {
            self.url = url
            self.handle = handle
            self.hasher = hashing ? SHA256() : nil
            self.piece = hashing && pieces ? PieceHasher() : nil
        }

        /// The CID of the bytes hashed so far.
        func cid() -> CID { CID(codec: CID.Codec.car, multihash: .sha256((hasher ?? SHA256()).finalize())) }

        func update(_ bytes: some DataProtocol & ContiguousBytes) {
            hasher?.update(data: bytes)
            if piece != nil { bytes.withUnsafeBytes { piece?.update(buffer: $0) } }
        }
    }

    /// - Parameters:
    ///   - directory: where shards are written (must exist).
    ///   - shardSize: maximum shard size; `nil` for a single CAR of any size.
    ///   - pieces: compute each shard's Filecoin piece while it is written (``ShardInfo/piece``).
    ///   - fileName: file name for a finished shard (default `<cid>.car`).
    ///   - onFinished: called with each shard as soon as its file is complete (on the writing thread);
    ///     an error it throws stops the writer.
    public init(directory: URL, shardSize: Int?, pieces: Bool = false, fileName: @escaping (CID) -> String = { "\($0).car" },
                onFinished: ((ShardInfo) throws -> Void)? = nil) {
        self.directory = directory
        self.shardSize = shardSize
        self.pieces = pieces
        self.fileNamer = fileName
        self.onFinished = onFinished
    }

    /// Records a finished shard and tells `onFinished`.
    func complete(_ shard: ShardInfo) throws {
        finished.append(shard)
        try onFinished?(shard)
    }

    static let noRootsHeader = CARHeader(roots: []).bytes

    func openShard() throws -> OpenShard {
        tempCounter += 1
        let url = directory.appendingPathComponent("\(tempPrefix)-\(tempCounter).tmp")
        guard FileManager.default.createFile(atPath: url.path, contents: nil) else {
            throw UnixFSError.io("cannot create \(url.path)")
        }
        let handle = try FileHandle(forUpdating: url)
        let shard = OpenShard(url: url, handle: handle, hashing: shardSize != nil, pieces: pieces)
        try handle.write(contentsOf: CARShardWriter.noRootsHeader)
        shard.update(CARShardWriter.noRootsHeader)
        return shard
    }

    public func put(_ block: Block) throws {
        let prefix = CAREncoder.sectionPrefix(block.cid, dataLength: block.bytes.count)
        let length = prefix.count + block.bytes.count
        if let shardSize {
            let maxBlock = shardSize - CARShardWriter.noRootsHeaderLength
            guard length <= maxBlock else { throw UnixFSError.blockExceedsShardSize(cid: block.cid.description) }
            if let shard = current, !shard.entries.isEmpty, shard.bodyLength + length > maxBlock {
                try closeIntermediate(shard)
                current = nil
            }
        }
        let shard = try current ?? openShard()
        current = shard
        try shard.handle.write(contentsOf: prefix)
        try shard.handle.write(contentsOf: block.bytes)
        shard.update(prefix)
        shard.update(block.bytes)
        shard.entries.append(Entry(cid: block.cid, prefixLength: prefix.count, dataLength: block.bytes.count))
        shard.bodyLength += length
        lastCID = block.cid
    }

    func slices(_ entries: ArraySlice<Entry>, headerLength: Int) -> [ShardInfo.Slice] {
        var offset = headerLength
        return entries.map { e in
            defer { offset += e.sectionLength }
            return ShardInfo.Slice(multihash: e.cid.multihash, offset: UInt64(offset + e.prefixLength), length: UInt64(e.dataLength))
        }
    }

    func closeIntermediate(_ shard: OpenShard) throws {
        guard let hasher = shard.hasher else { return }
        try shard.handle.close()
        let cid = CID(codec: CID.Codec.car, multihash: .sha256(hasher.finalize()))
        let size = CARShardWriter.noRootsHeaderLength + shard.bodyLength
        let url = try place(shard.url, cid: cid)
        try complete(ShardInfo(cid: cid, size: UInt64(size), roots: [], url: url, blocks: shard.entries.map(\.cid),
                               slices: slices(shard.entries[...], headerLength: CARShardWriter.noRootsHeaderLength),
                               piece: shard.piece?.finalize()))
    }

    func place(_ temp: URL, cid: CID) throws -> URL {
        let final = directory.appendingPathComponent(fileNamer(cid))
        if FileManager.default.fileExists(atPath: final.path) { try FileManager.default.removeItem(at: final) }
        try FileManager.default.moveItem(at: temp, to: final)
        return final
    }

    /// Closes the last shard with `root` (default: the last block) in its header and returns all shards.
    public func finish(root: CID? = nil) throws -> [ShardInfo] {
        guard let shard = current, let rootCID = root ?? lastCID else { return finished }
        current = nil
        let rootHeader = CARHeader(roots: [rootCID]).bytes
        // `keep` blocks stay in a no-roots shard; the rest go to the root-bearing shard.
        var keep = 0
        if let shardSize, rootHeader.count + shard.bodyLength > shardSize {
            let overage = rootHeader.count + shard.bodyLength - shardSize
            var moved = 0
            keep = shard.entries.count
            while moved < overage {
                keep -= 1
                moved += shard.entries[keep].sectionLength
                guard keep >= 1 else { throw UnixFSError.blockExceedsShardSize(cid: shard.entries[keep].cid.description) }
            }
        }
        let splitBody = shard.entries[..<keep].reduce(0) { $0 + $1.sectionLength }
        // The root-bearing shard: root header plus the body from `splitBody` on.
        let rootTemp = try openRootShard(from: shard, bodyStart: splitBody, header: rootHeader)
        if keep > 0 {
            // Overflow: the first part keeps the no-roots header; rehash it from disk.
            try shard.handle.truncate(atOffset: UInt64(CARShardWriter.noRootsHeaderLength + splitBody))
            try shard.handle.seek(toOffset: 0)
            let rehash = OpenShard(url: shard.url, handle: shard.handle, hashing: true, pieces: pieces)
            try copy(from: shard.handle, count: CARShardWriter.noRootsHeaderLength + splitBody, to: nil, hashing: rehash)
            try shard.handle.close()
            let cid = rehash.cid()
            let url = try place(shard.url, cid: cid)
            try complete(ShardInfo(cid: cid, size: UInt64(CARShardWriter.noRootsHeaderLength + splitBody), roots: [], url: url,
                                   blocks: shard.entries[..<keep].map(\.cid),
                                   slices: slices(shard.entries[..<keep], headerLength: CARShardWriter.noRootsHeaderLength),
                                   piece: rehash.piece?.finalize()))
        } else {
            try shard.handle.close()
            try FileManager.default.removeItem(at: shard.url)
        }
        let (tempURL, cid, size, piece) = rootTemp
        let url = try place(tempURL, cid: cid)
        try complete(ShardInfo(cid: cid, size: UInt64(size), roots: [rootCID], url: url,
                               blocks: shard.entries[keep...].map(\.cid),
                               slices: slices(shard.entries[keep...], headerLength: rootHeader.count), piece: piece))
        return finished
    }

    func openRootShard(from shard: OpenShard, bodyStart: Int, header: [UInt8]) throws -> (URL, CID, Int, Piece?) {
        tempCounter += 1
        let url = directory.appendingPathComponent("\(tempPrefix)-\(tempCounter).tmp")
        guard FileManager.default.createFile(atPath: url.path, contents: nil) else {
            throw UnixFSError.io("cannot create \(url.path)")
        }
        let out = try FileHandle(forWritingTo: url)
        defer { try? out.close() }
        let hashing = OpenShard(url: url, handle: out, hashing: true, pieces: pieces)
        try out.write(contentsOf: header)
        hashing.update(header)
        try shard.handle.seek(toOffset: UInt64(CARShardWriter.noRootsHeaderLength + bodyStart))
        let count = shard.bodyLength - bodyStart
        try copy(from: shard.handle, count: count, to: out, hashing: hashing)
        let cid = hashing.cid()
        return (url, cid, header.count + count, hashing.piece?.finalize())
    }

    func copy(from input: FileHandle, count: Int, to output: FileHandle?, hashing: OpenShard) throws {
        var remaining = count
        while remaining > 0 {
            guard let chunk = try input.read(upToCount: min(remaining, 4 << 20)), !chunk.isEmpty else {
                throw UnixFSError.io("shard file ended early")
            }
            hashing.update(chunk)
            try output?.write(contentsOf: chunk)
            remaining -= chunk.count
        }
    }

    /// Deletes every file this writer created (temporary and finished).
    public func abandon() {
        if let shard = current {
            try? shard.handle.close()
            try? FileManager.default.removeItem(at: shard.url)
            current = nil
        }
        for s in finished { try? FileManager.default.removeItem(at: s.url) }
        if let names = try? FileManager.default.contentsOfDirectory(atPath: directory.path) {
            for n in names where n.hasPrefix(tempPrefix) {
                try? FileManager.default.removeItem(at: directory.appendingPathComponent(n))
            }
        }
        finished.removeAll()
    }
}
