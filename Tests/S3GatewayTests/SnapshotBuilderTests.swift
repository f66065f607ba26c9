import Foundation
import IPLD
import Multiformats
import S3Protocol
import Testing
import UnixFS
@testable import S3Gateway

/// Blocks in memory, as a block source for the exporter and a lookup for the metadata tree.
struct Blocks: BlockSource {
    let byCID: [CID: Data]
    func block(_ cid: CID) async throws -> Data {
        guard let data = byCID[cid] else { throw SnapshotFormatError("no block \(cid)") }
        return data
    }
    func value(_ cid: CID) throws -> IPLDValue? { try byCID[cid].map { try DAGCBOR.decode($0) } }
}

@Suite struct SnapshotBuilderTests {
    static func object(_ n: Int, size: UInt64 = 3) throws -> SnapshotObject {
        let bytes = Data("object \(n)".utf8)
        let info = S3ObjectInfo(key: "k\(n)", size: size, etag: "etag\(n)", lastModified: Date(timeIntervalSince1970: 1_700_000_000.25 + Double(n)),
                                contentType: "text/x-\(n)", metadata: ["mtime": "\(n)", "color": "blue"])
        let root = CID(codec: CID.Codec.raw, multihash: .sha256(bytes))
        return try SnapshotObject(ObjectRecord(info: info, root: root.description, shards: ["bagbaieraexample\(n)"]))
    }

    /// Builds `keys` and returns the tree, the metadata root and every block.
    static func build(_ keys: [String]) throws -> (tree: CID, meta: CID, blocks: Blocks, objects: [String: SnapshotObject]) {
        let sorted = keys.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
        var directories: Set<String> = []
        for key in sorted { for d in SnapshotPaths.directories(of: key) { directories.insert(d) } }
        var blocks: [CID: Data] = [:]
        let builder = SnapshotBuilder(directories: directories) { blocks[$0.cid] = $0.bytes }
        var objects: [String: SnapshotObject] = [:]
        for (i, key) in sorted.enumerated() {
            objects[key] = try object(i)
            try builder.add(key, objects[key]!)
        }
        let (tree, meta) = try builder.finish()
        return (tree, meta, Blocks(byCID: blocks), objects)
    }

    @Test func everyKeyComesBackExactlyAndPathsResolve() async throws {
        let keys = ["a.txt", "dir/b.txt", "dir/sub/c.txt", "dir-x", "ünï côdé/f", "a", "a/b", "x//y", "/lead", "trail/", "./dot",
                    String(repeating: "n", count: 300) + "/long", "dir/sub/d.txt"]
        let (tree, meta, blocks, objects) = try SnapshotBuilderTests.build(keys)
        // Every key, pathable or not, with every field.
        let back = try await SnapshotLookup.objects(meta: meta) { try blocks.value($0)! }
        #expect(Dictionary(back, uniquingKeysWith: { a, _ in a }) == objects)
        #expect(back.count == keys.count)
        for key in keys {
            guard case .found(let found) = try SnapshotLookup.object(key, meta: meta, block: { try blocks.value($0) }) else {
                Issue.record("\(key) not found")
                continue
            }
            #expect(found == objects[key])
        }
        guard case .absent = try SnapshotLookup.object("missing/key", meta: meta, block: { try blocks.value($0) }) else {
            Issue.record("a missing key was found")
            return
        }
        // Paths of the keys that are paths resolve in the UnixFS tree to the objects' roots.
        let exporter = UnixFSExporter(source: blocks)
        for key in ["a.txt", "dir/b.txt", "dir/sub/c.txt", "dir-x", "ünï côdé/f", "a/b"] {
            #expect(try await exporter.resolve(tree, path: key) == objects[key]?.root, "\(key)")
        }
        // `a` is both a key and a directory: the directory wins the path, the key is kept by name.
        #expect(try await exporter.list(tree).map(\.name).sorted() == ["a", "a.txt", "dir", "dir-x", "ünï côdé"])
    }

    @Test func largeDirectoriesArePagedAndSharded() async throws {
        let keys = (0..<2500).map { "big/f\($0)" }
        let (tree, meta, blocks, objects) = try SnapshotBuilderTests.build(keys)
        let back = try await SnapshotLookup.objects(meta: meta) { try blocks.value($0)! }
        #expect(back.count == 2500 && Dictionary(back, uniquingKeysWith: { a, _ in a }) == objects)
        let big = try await UnixFSExporter(source: blocks).resolve(tree, path: "big")
        #expect(try await UnixFSExporter(source: blocks).list(big).count == 2500)
        // Changing one key changes one metadata page, not the list of 2,500.
        var changed = keys
        changed[1234] = "big/f1234-renamed"
        let (_, _, after, _) = try SnapshotBuilderTests.build(changed)
        let newMetadata = after.byCID.keys.filter { $0.codec == DAGCBOR.code && blocks.byCID[$0] == nil }
        #expect(newMetadata.count == 3, "new metadata blocks: a page, big's node, the root's node")
    }

    @Test func manifestsRoundTrip() throws {
        let tree = CID(codec: CID.Codec.dagPB, multihash: .sha256(Data("t".utf8)))
        let meta = CID(codec: DAGCBOR.code, multihash: .sha256(Data("m".utf8)))
        let blob = CID(codec: CID.Codec.car, multihash: .sha256(Data("b".utf8)))
        let manifest = SnapshotManifest(bucket: "photos", owner: "AK", seq: 3, created: 1_700_000_000.5, bucketCreated: 1_600_000_000,
                                        tree: tree, meta: meta, stores: [SnapshotStore(root: tree, blobs: [blob])])
        #expect(try SnapshotManifest.decode(manifest.encode()) == manifest)
        #expect(try SnapshotManifest.decode(.map(["other": .int(1)])) == nil)
    }
}
