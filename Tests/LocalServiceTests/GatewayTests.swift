import CAR
import Foundation
import IPLD
import LocalService
import StorachaClient
import Multiformats
import Testing
import TestSupport
import UCAN
import UnixFS

@Suite(.serialized) struct GatewayTests {
    @Test func filesByRootAndPathWithRanges() async throws {
        let world = try await World.start()
        defer { Task { await world.stop() } }
        let big = lcg(2_500_000, seed: 7)
        let files = [
            ImportFile(name: "docs/readme.txt", data: Data("hello gateway\n".utf8)),
            ImportFile(name: "big.bin", data: big),
            ImportFile(name: "empty.txt", data: Data()),
            ImportFile(name: "pic.png", data: Data([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 1, 2, 3])),
        ]
        // A small shard size forces several shards.
        let result = try await world.upload(files, shardSize: 1_100_000)
        #expect(result.shards.count > 1)
        for f in files {
            guard case .data(let bytes) = f.content else { continue }
            let r = try await world.client.request(.GET, "/ipfs/\(result.root)/\(f.name)")
            #expect(r.status == 200, "\(f.name)")
            #expect(r.body == bytes, "\(f.name) byte-identical")
        }
        let png = try await world.client.request(.GET, "/ipfs/\(result.root)/pic.png")
        #expect(png.headers["content-type"] == "image/png")
        // Ranges.
        for (range, expected) in [("bytes=0-9", big[0..<10]), ("bytes=1048570-1048590", big[1_048_570...1_048_590]), ("bytes=2499990-", big[2_499_990...]), ("bytes=-5", big.suffix(5))] {
            let r = try await world.client.request(.GET, "/ipfs/\(result.root)/big.bin", headers: ["range": range])
            #expect(r.status == 206, "\(range)")
            #expect(r.body == Data(expected), "\(range)")
        }
        #expect(try await world.client.request(.GET, "/ipfs/\(result.root)/big.bin", headers: ["range": "bytes=3000000-"]).status == 416)
        let head = try await world.client.request(.HEAD, "/ipfs/\(result.root)/big.bin")
        #expect(head.status == 200 && head.headers["content-length"] == "2500000" && head.body.isEmpty)
        // By the file's own root CID.
        let sink = CollectingSink()
        var bigSource = MemoryByteSource(big)
        let bigRoot = try FileImporter(sink: sink).importFile(from: &bigSource)
        let byCID = try await world.client.request(.GET, "/ipfs/\(bigRoot.cid)")
        #expect(byCID.body == big)
        // Listings.
        let headListing = try await world.client.request(.HEAD, "/ipfs/\(result.root)/")
        #expect(headListing.status == 200 && headListing.body.isEmpty && headListing.headers["content-type"]?.hasPrefix("text/html") == true)
        let listing = try await world.client.request(.GET, "/ipfs/\(result.root)/", headers: ["accept": "text/html"])
        #expect(listing.status == 200 && String(decoding: listing.body, as: UTF8.self).contains("big.bin"))
        let jsonListing = try await world.client.request(.GET, "/ipfs/\(result.root)", headers: ["accept": "application/json"])
        #expect(String(decoding: jsonListing.body, as: UTF8.self).contains("\"name\":\"docs\""))
        #expect(try await world.client.request(.GET, "/ipfs/\(result.root)/missing.txt").status == 404)
        #expect(try await world.client.request(.GET, "/ipfs/bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy").status == 404)
        #expect(try await world.client.request(.GET, "/ipfs/not-a-cid").status == 400)
    }

    @Test func trustlessFormats() async throws {
        let world = try await World.start()
        defer { Task { await world.stop() } }
        let big = lcg(3_300_000, seed: 3)
        let result = try await world.upload([ImportFile(name: "a/b.bin", data: big), ImportFile(name: "c.txt", data: Data("c".utf8))])
        // ?format=car of the whole DAG: every block verifies and the file reassembles.
        let car = try await world.client.request(.GET, "/ipfs/\(result.root)?format=car")
        #expect(car.status == 200 && car.headers["content-type"]?.hasPrefix("application/vnd.ipld.car") == true)
        let (header, blocks) = try CARReader.readAll(car.body)
        #expect(header.roots == [result.root])
        #expect(blocks.allSatisfy { $0.isValid })
        let local = MemoryStore(blocks)
        var rebuilt = Data()
        let exporter = UnixFSExporter(source: local)
        try await exporter.read(try await exporter.resolve(result.root, path: "a/b.bin")) { rebuilt.append($0) }
        #expect(rebuilt == big)
        // dag-scope=block: the path blocks and the target only.
        let blockScope = try await world.client.request(.GET, "/ipfs/\(result.root)/a/b.bin?format=car&dag-scope=block")
        let (_, scoped) = try CARReader.readAll(blockScope.body)
        #expect(scoped.count == 3)
        // entity-bytes: only the leaves covering the range (plus the path and the file node).
        let ranged = try await world.client.request(.GET, "/ipfs/\(result.root)/a/b.bin?format=car&dag-scope=entity&entity-bytes=0:10")
        let (_, rangedBlocks) = try CARReader.readAll(ranged.body)
        #expect(rangedBlocks.count == 4)
        #expect(rangedBlocks.allSatisfy { $0.isValid })
        // ?format=raw returns one block, verified by its CID.
        let leaf = try #require(blocks.first { $0.cid.codec == CID.Codec.raw })
        let raw = try await world.client.request(.GET, "/ipfs/\(leaf.cid)?format=raw")
        #expect(raw.body == leaf.bytes)
        let rawRange = try await world.client.request(.GET, "/ipfs/\(leaf.cid)", headers: ["accept": "application/vnd.ipld.raw", "range": "bytes=0-99"])
        #expect(rawRange.status == 206 && rawRange.body == leaf.bytes.prefix(100))
        // A CAR-codec CID serves the shard bytes.
        let shard = result.shards[0]
        let shardBytes = try await world.client.request(.GET, "/ipfs/\(shard.cid)")
        #expect(CID.sha256(codec: CID.Codec.car, shardBytes.body) == shard.cid)
    }

    @Test func hamtDirectoryAndGatewayPort() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("storacha-svc-\(UUID().uuidString)")
        let running = try await LocalServer.start(ServiceConfiguration(dataDirectory: dir, gatewayPort: 0, autoConfirm: true))
        var attached = try await World.attach(url: running.url, did: running.did, dataDirectory: dir)
        attached.running = running
        let world = attached
        defer { Task { await world.stop() } }
        let gatewayURL = try #require(running.gatewayURL)
        let files = (0..<1100).map { ImportFile(name: "d/f\($0).txt", data: Data("content \($0)".utf8)) }
        let result = try await world.upload(files)
        for i in [0, 555, 1099] {
            let r = try await world.client.request(.GET, "/ipfs/\(result.root)/d/f\(i).txt")
            #expect(r.body == Data("content \(i)".utf8))
        }
        let listing = try await world.client.request(.GET, "/ipfs/\(result.root)/d", headers: ["accept": "application/json"])
        #expect(String(decoding: listing.body, as: UTF8.self).components(separatedBy: "\"name\"").count == 1101)
        // The gateway port serves content and nothing else.
        let viaGateway = try await world.client.request(.GET, gatewayURL + "/ipfs/\(result.root)/d/f7.txt")
        #expect(viaGateway.status == 200 && viaGateway.body == Data("content 7".utf8))
        #expect(try await world.client.request(.POST, gatewayURL + "/", headers: ["content-type": "application/vnd.ipld.car"], body: Data()).status == 404)
    }
}

/// Blocks in memory, verified on read.
struct MemoryStore: BlockSource {
    let blocks: [Multihash: Data]
    init(_ list: [Block]) { blocks = Dictionary(list.map { ($0.cid.multihash, $0.bytes) }, uniquingKeysWith: { a, _ in a }) }
    func block(_ cid: CID) async throws -> Data {
        guard let b = blocks[cid.multihash], cid.multihash.verifies(b) else { throw UnixFSError.blockNotFound(cid: cid.description) }
        return b
    }
}
