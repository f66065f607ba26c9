import Foundation
import Testing
import CAR
import Multiformats
@testable import UnixFS

struct VectorCase: Decodable, CustomStringConvertible, Sendable {
    struct FileSpec: Decodable, Sendable {
        let name: String
        let generator: String
        let size: Int
        let text: String?
    }
    struct Shard: Decodable, Sendable {
        let cid: String
        let size: Int
        let roots: [String]
        let blocks: Int
        let blockCids: [String]
    }
    let name: String
    let kind: String
    let generator: String?
    let size: Int?
    let files: [FileSpec]?
    let shardSize: Int
    let dedupe: Bool
    let root: String
    let shards: [Shard]

    var description: String { name }
    var inputSize: Int { size ?? files?.reduce(0) { $0 + $1.size } ?? 0 }

    static func all() throws -> [VectorCase] {
        let data = try Data(contentsOf: SharedVectors.root.appendingPathComponent("unixfs-car.json"))
        return try JSONDecoder().decode([VectorCase].self, from: data)
    }

    static let slowThreshold = 50_000_000
    static var slowEnabled: Bool { ProcessInfo.processInfo.environment["STORACHA_SLOW_TESTS"] == "1" }

    static func selected(slow: Bool) -> [VectorCase] {
        ((try? all()) ?? []).filter { slow ? $0.inputSize > slowThreshold : $0.inputSize <= slowThreshold }
    }
}

@Suite struct UnixFSVectorTests {
    static func run(_ c: VectorCase) throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let inputs = dir.appendingPathComponent("in")
        let out = dir.appendingPathComponent("out")
        try FileManager.default.createDirectory(at: inputs, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(at: out, withIntermediateDirectories: true)
        var files: [ImportFile] = []
        var wrap = true
        if c.kind == "file", let gen = c.generator, let size = c.size {
            let url = inputs.appendingPathComponent("input.bin")
            try Generator.write(gen, size: size, to: url)
            files = [ImportFile(name: "input.bin", size: UInt64(size), content: .file(url))]
            wrap = false
        } else {
            for f in c.files ?? [] {
                files.append(ImportFile(name: f.name, data: Generator.bytes(f.generator, size: f.size, text: f.text)))
            }
        }
        var options = PackOptions(shardSize: c.shardSize, wrap: wrap)
        options.settings.dedupe = c.dedupe
        let result = try Packer.pack(files, options: options, into: out)
        #expect(result.root.description == c.root)
        try #require(result.shards.count == c.shards.count, "shard count for \(c.name)")
        for (got, want) in zip(result.shards, c.shards) {
            #expect(got.cid.description == want.cid, "shard CID in \(c.name)")
            #expect(got.size == UInt64(want.size))
            #expect(got.roots.map(\.description) == want.roots)
            #expect(got.blocks.map(\.description) == want.blockCids, "block order in \(c.name)")
            // The bytes on disk read back as the same blocks, each verified, and hash to the shard CID.
            let handle = try FileHandle(forReadingFrom: got.url)
            defer { try? handle.close() }
            var reader = try CARReader(source: FileByteSource(handle: handle))
            var cids: [String] = []
            while let b = try reader.next() { cids.append(b.block.cid.description) }
            #expect(cids == want.blockCids)
            #expect(reader.header.roots.map(\.description) == want.roots)
        }
        // Root CID alone, computed without writing.
        #expect(try Packer.rootCID(files, options: options).description == c.root)
    }

    @Test("JS client vectors", arguments: VectorCase.selected(slow: false))
    func vector(_ c: VectorCase) throws {
        try Self.run(c)
    }

    @Test("JS client vectors above 50 MB (STORACHA_SLOW_TESTS=1)", .enabled(if: VectorCase.slowEnabled), arguments: VectorCase.selected(slow: true))
    func slowVector(_ c: VectorCase) throws {
        try Self.run(c)
    }

    @Test func vectorsArePresent() throws {
        #expect(try VectorCase.all().count == 25)
        #expect(VectorCase.selected(slow: false).count == 22)
    }

    @Test func generatorsMatchPublishedDigests() throws {
        #expect(Multihash.sha256(Generator.bytes("lcg", size: 1)).digest.hex == "dabd3aff769f07eb2965401eb029974ebba3407afd02b26ddb564ea5f8efae72")
        #expect(Multihash.sha256(Generator.bytes("pattern", size: 1_048_577)).digest.hex == "0d09f3eabb5c78e5d435c41e3b3755f1c4d038657f739d0be0083c24e71235df")
        #expect(Multihash.sha256(Generator.bytes("lcg", size: 5_000_000)).digest.hex == "e15434efae1fecb4ac1e4185d088e6d890e03d15dfb74ff4cfdc1c0b2124f397")
    }
}

extension Array where Element == UInt8 {
    var hex: String { map { String(format: "%02x", $0) }.joined() }
}
