import Foundation
import Testing
import CAR
import IPLD
import Multiformats
import Piece
@testable import UnixFS

@Suite struct ExportTests {
    static func pack(_ files: [ImportFile], options: PackOptions = PackOptions(), dir: URL) throws -> (PackResult, CARBlockStore) {
        let result = try Packer.pack(files, options: options, into: dir)
        return (result, try CARBlockStore(urls: result.shards.map(\.url)))
    }

    static func readAll(_ exporter: UnixFSExporter, _ cid: CID, range: Range<UInt64>? = nil) async throws -> Data {
        var out = Data()
        try await exporter.read(cid, range: range) { out.append($0) }
        return out
    }

    @Test func multiShardFileRoundTripsWithRanges() async throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let data = Generator.bytes("lcg", size: 3_500_000)
        let (result, store) = try Self.pack([ImportFile(name: "f.bin", data: data)], options: PackOptions(shardSize: 1_200_000, wrap: true), dir: dir)
        #expect(result.shards.count > 1)
        #expect(result.shards.dropLast().allSatisfy { $0.roots.isEmpty })
        #expect(result.shards.last?.roots == [result.root])
        let exporter = UnixFSExporter(source: store)
        let file = try await exporter.resolve(result.root, path: "f.bin")
        #expect(try await Self.readAll(exporter, file) == data)
        for r in [0..<1, 1_048_575..<1_048_577, 100..<3_000_000, 3_499_999..<3_500_000, 2_097_152..<2_097_152] {
            #expect(try await Self.readAll(exporter, file, range: UInt64(r.lowerBound)..<UInt64(r.upperBound)) == data[r])
        }
        await #expect(throws: UnixFSError.self) { try await Self.readAll(exporter, file, range: 0..<3_500_001) }
        await #expect(throws: UnixFSError.self) { try await exporter.resolve(result.root, path: "missing") }
        await #expect(throws: UnixFSError.self) { try await exporter.resolve(result.root, path: "f.bin/deeper") }
        await #expect(throws: UnixFSError.self) { try await Self.readAll(exporter, result.root) }
    }

    @Test func hamtDirectoryListsAndResolves() async throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let files = (0..<1500).map { ImportFile(name: "file\($0).txt", data: Data("data\($0)".utf8)) }
        let (result, store) = try Self.pack(files, dir: dir)
        let exporter = UnixFSExporter(source: store)
        let entries = try await exporter.list(result.root)
        #expect(entries.count == 1500)
        #expect(Set(entries.map(\.name)) == Set(files.map(\.name)))
        for i in [0, 7, 999, 1499] {
            let cid = try await exporter.resolve(result.root, path: "/file\(i).txt")
            #expect(try await Self.readAll(exporter, cid) == Data("data\(i)".utf8))
        }
        await #expect(throws: UnixFSError.self) { try await exporter.resolve(result.root, path: "file1500.txt") }
    }

    @Test func orderEdgeCase() throws {
        // JS sorts by UTF-16 code units: emoji (surrogates) before U+FF21; links sort by UTF-8 bytes.
        let files = [("a.txt", "A"), ("a/b.txt", "B"), ("\u{FF21}.txt", "fullwidth A"), ("\u{1F600}.txt", "emoji"), ("Z.txt", "Z")]
            .map { ImportFile(name: $0.0, data: Data($0.1.utf8)) }
        let sink = CollectingSink()
        let root = try DirectoryImporter(sink: sink).importDirectory(files)
        let raw = { (s: String) in CID.sha256(codec: CID.Codec.raw, Data(s.utf8)) }
        let order = sink.blocks.map(\.cid)
        #expect(order.count == 7)
        #expect(Array(order.prefix(3)) == [raw("Z"), raw("A"), raw("B")])
        #expect(Array(order[4...5]) == [raw("emoji"), raw("fullwidth A")])
        #expect(order.last == root.cid)
        let node = try DAGPB.decode(sink.blocks.last!.bytes)
        #expect(node.links.map { $0.name ?? "" } == ["Z.txt", "a", "a.txt", "\u{FF21}.txt", "\u{1F600}.txt"])
    }

    @Test func pathConflictsAreErrors() throws {
        let a = [ImportFile(name: "x", data: Data()), ImportFile(name: "x/y", data: Data())]
        #expect(throws: UnixFSError.self) { try DirectoryImporter(sink: CollectingSink()).importDirectory(a) }
        let b = [ImportFile(name: "x/y", data: Data()), ImportFile(name: "x", data: Data())]
        #expect(throws: UnixFSError.self) { try DirectoryImporter(sink: CollectingSink()).importDirectory(b) }
    }

    @Test func overflowRuleMovesTrailingBlocksIntoAFinalShard() throws {
        // Leaves L1, L2 (1 MiB) and L3 (100 B), then the root. The shard size fits [L1] in shard 1 and
        // [L2, L3, root] behind an 18-byte header, but not behind the 59-byte root header: the root
        // block must move into a third shard.
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let mib = 1 << 20
        let data = Generator.bytes("lcg", size: 2 * mib + 100)
        let leaves = [data[0..<mib], data[mib..<(2 * mib)], data[(2 * mib)...]].map { chunk in
            UnixFSLink(cid: CID.sha256(codec: CID.Codec.raw, Data(chunk)), dagSize: UInt64(chunk.count), contentSize: UInt64(chunk.count))
        }
        let rootNode = FileNode.encode(leaves).0
        let leafSection = mib + 36 + 3
        let smallSection = 100 + 36 + 2
        let rootSection = rootNode.bytes.count + 36 + 2
        let shardSize = 18 + leafSection + smallSection + rootSection + 10
        let files = [ImportFile(name: "f", size: UInt64(data.count), content: .data(data))]
        var heard: [ShardInfo] = []
        let result = try Packer.pack(files, options: PackOptions(shardSize: shardSize, wrap: false), pieces: true, into: dir) { shard in
            heard.append(shard)
        }
        #expect(heard == result.shards, "each shard is handed over as soon as it is written, in order")
        for s in result.shards {
            // The piece computed while writing (including the re-hashed split shard) is that of the file.
            #expect(s.piece == (try Piece.computed(fromFileAt: s.url)), "piece of shard \(s.cid)")
        }
        #expect(result.root == rootNode.cid)
        try #require(result.shards.count == 3)
        #expect(result.shards[0].blocks == [leaves[0].cid])
        #expect(result.shards[1].blocks == [leaves[1].cid, leaves[2].cid])
        #expect(result.shards[2].blocks == [result.root])
        #expect(result.shards[0].roots.isEmpty && result.shards[1].roots.isEmpty && result.shards[2].roots == [result.root])
        #expect(result.shards.allSatisfy { $0.size <= UInt64(shardSize) })
        for s in result.shards {
            let bytes = try Data(contentsOf: s.url)
            #expect(bytes.count == Int(s.size))
            #expect(CID.sha256(codec: CID.Codec.car, bytes) == s.cid)
        }
    }

    /// Pieces computed while packing equal those of the shard files, for one CAR and for many shards.
    @Test func piecesAreComputedWhileShardsAreWritten() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let data = Generator.bytes("lcg", size: 2_500_000)
        for shardSize in [PackOptions.defaultShardSize, 1_100_000] {
            let result = try Packer.pack([ImportFile(name: "f", data: data)], options: PackOptions(shardSize: shardSize), pieces: true,
                                         into: dir)
            #expect(result.shards.count == (shardSize == PackOptions.defaultShardSize ? 1 : 3))
            for s in result.shards { #expect(s.piece == (try Piece.computed(fromFileAt: s.url))) }
        }
        let plain = try Packer.pack([ImportFile(name: "f", data: data)], options: PackOptions(shardSize: 1_100_000), into: dir)
        #expect(plain.shards.allSatisfy { $0.piece == nil })
    }

    /// A file given as parts read one after another has the root of the whole file, whatever the part sizes.
    @Test func partsReadInTurnGiveTheWholeFilesRoot() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let data = Generator.bytes("lcg", size: 2_700_000)
        let whole = dir.appendingPathComponent("whole")
        try data.write(to: whole)
        let cuts = [0, 1, 700_000, 1_048_576, 2_699_999, 2_700_000]
        var parts: [URL] = []
        for (i, (a, b)) in zip(cuts, cuts.dropFirst()).enumerated() {
            let url = dir.appendingPathComponent("part\(i)")
            try data.subdata(in: a..<b).write(to: url)
            parts.append(url)
        }
        let one = try Packer.rootCID([ImportFile(name: "f", size: UInt64(data.count), content: .file(whole))], options: PackOptions(wrap: false))
        let many = try Packer.rootCID([ImportFile(name: "f", size: UInt64(data.count), content: .files(parts))], options: PackOptions(wrap: false))
        #expect(one == many)
    }

    @Test func blockLargerThanShardIsAnErrorAndLeavesNothing() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let data = Generator.bytes("lcg", size: 3 << 20)
        #expect(throws: UnixFSError.self) {
            try Packer.pack([ImportFile(name: "f", data: data)], options: PackOptions(shardSize: 1 << 20, wrap: false), into: dir)
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path).isEmpty)
    }

    @Test func shardedDAGIndexMatchesTheShards() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let data = Generator.bytes("lcg", size: 2_500_000)
        let result = try Packer.pack([ImportFile(name: "f", data: data)], options: PackOptions(shardSize: 1_100_000, wrap: false), into: dir)
        let archive = try result.index.archive()
        let (header, blocks) = try CARReader.readAll(archive)
        #expect(header.roots.count == 1 && blocks.first?.cid == header.roots[0])
        #expect(blocks.count == 1 + result.shards.count)
        let parsed = try ShardedDAGIndex(archive: archive)
        #expect(parsed == result.index)
        #expect(parsed.content == result.root)
        // Every slice points at the right bytes inside its shard.
        for shard in result.shards {
            let bytes = try Data(contentsOf: shard.url)
            let slices = try #require(parsed.shards[shard.cid.multihash])
            #expect(slices.count == shard.blocks.count + 1)
            #expect(slices[shard.cid.multihash] == .init(offset: 0, length: shard.size))
            for cid in shard.blocks {
                let pos = try #require(slices[cid.multihash])
                #expect(cid.multihash.verifies(bytes[Int(pos.offset)..<Int(pos.offset + pos.length)]))
            }
        }
        // Root block layout: {"index/sharded/dag@0.1": {content, shards}}
        let root = try DAGCBOR.decode(blocks[0].bytes)
        #expect(root[ShardedDAGIndex.version]?["content"]?.linkValue == result.root)
    }

    @Test func fileCollectorFollowsFilesFromPath() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let fm = FileManager.default
        try fm.createDirectory(at: dir.appendingPathComponent("top/sub"), withIntermediateDirectories: true)
        try Data("a".utf8).write(to: dir.appendingPathComponent("top/a.txt"))
        try Data("b".utf8).write(to: dir.appendingPathComponent("top/sub/b.txt"))
        try Data("h".utf8).write(to: dir.appendingPathComponent("top/.hidden"))
        try fm.createSymbolicLink(at: dir.appendingPathComponent("top/link"), withDestinationURL: dir.appendingPathComponent("top/a.txt"))
        let files = try FileCollector.collect(paths: ["top"], hidden: false, currentDirectory: dir.path)
        #expect(files.map(\.name) == ["a.txt", "sub/b.txt"])
        let withHidden = try FileCollector.collect(paths: ["top"], hidden: true, currentDirectory: dir.path)
        #expect(withHidden.map(\.name) == [".hidden", "a.txt", "sub/b.txt"])
        let single = try FileCollector.collect(paths: [dir.appendingPathComponent("top/sub/b.txt").path], hidden: false)
        #expect(single.map(\.name) == ["b.txt"])
        #expect(throws: UnixFSError.self) { try FileCollector.collect(paths: ["nope"], hidden: false, currentDirectory: dir.path) }
    }
}
