import Foundation
import Testing
import IPLD
import Multiformats
@testable import CAR

@Suite struct CARTests {
    static var lostDog: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("shared/vectors/wire/lost-dog.jpg.car")
    }

    static func sampleBlocks() -> [Block] {
        (0..<5).map { i in Block(codec: CID.Codec.raw, bytes: Data(repeating: UInt8(i), count: 100 * (i + 1))) }
    }

    @Test func headerBytes() {
        #expect(CARHeader(roots: []).bytes == [0x11, 0xa2, 0x65] + Array("roots".utf8) + [0x80, 0x67] + Array("version".utf8) + [0x01])
        let root = CID.sha256(codec: CID.Codec.dagPB, [UInt8]([1]))
        #expect(CARHeader(roots: [root]).bytes.count == 59)
    }

    @Test func lostDogFixtureReadsAndReencodesByteForByte() throws {
        let data = try Data(contentsOf: Self.lostDog)
        let (header, blocks) = try CARReader.readAll(data)
        #expect(header.roots.map(\.description) == ["bafybeif4owy5gno5lwnixqm52rwqfodklf76hsetxdhffuxnplvijskzqq"])
        #expect(blocks.map(\.cid.description) == [
            "bafkreifau35r7vi37tvbvfy3hdwvgb4tlflqf7zcdzeujqcjk3rsphiwte", "bafkreicj3ozpzd46nx26hflpoi6hgm5linwo65cvphd5ol3ke3vk5nb7aa",
            "bafybeihkqv2ukwgpgzkwsuz7whmvneztvxglkljbs3zosewgku2cfluvba", "bafybeif4owy5gno5lwnixqm52rwqfodklf76hsetxdhffuxnplvijskzqq",
        ])
        #expect(CAREncoder.encode(roots: header.roots, blocks: blocks) == data)
    }

    @Test func roundTripAndOffsets() throws {
        let blocks = Self.sampleBlocks()
        let car = CAREncoder.encode(roots: [blocks[4].cid], blocks: blocks)
        var reader = try CARReader(source: MemoryByteSource(car))
        var i = 0
        while let b = try reader.next() {
            #expect(b.block == blocks[i])
            #expect(car[b.dataOffset..<(b.dataOffset + b.block.bytes.count)] == blocks[i].bytes)
            i += 1
        }
        #expect(i == 5)
    }

    @Test func fileWriterMatchesEncoder() throws {
        let blocks = Self.sampleBlocks()
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("car-\(UUID().uuidString).car")
        defer { try? FileManager.default.removeItem(at: url) }
        let writer = try CARFileWriter(url: url, roots: [blocks[0].cid])
        for b in blocks { try writer.write(b) }
        try writer.close()
        #expect(try Data(contentsOf: url) == CAREncoder.encode(roots: [blocks[0].cid], blocks: blocks))
    }

    @Test func rejectsTruncatedCorruptAndAbsurdInput() throws {
        let blocks = Self.sampleBlocks()
        let car = CAREncoder.encode(roots: [], blocks: blocks)
        #expect(throws: CARError.self) { try CARReader.readAll(car.prefix(car.count - 10)) }
        #expect(throws: CARError.self) { try CARReader.readAll(car.prefix(5)) }
        var corrupt = car
        corrupt[corrupt.count - 1] ^= 0xff
        #expect(throws: CARError.hashMismatch(cid: blocks[4].cid.description, offset: car.count - 538)) { try CARReader.readAll(corrupt) }
        var absurd = Data(CARHeader(roots: []).bytes)
        absurd.append(contentsOf: [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f])
        #expect(throws: CARError.self) { try CARReader.readAll(absurd) }
        let v2 = Data([0x0a, 0xa1, 0x67] + Array("version".utf8) + [0x02])
        #expect(throws: CARError.unsupportedVersion("2")) { try CARReader.readAll(v2) }
        #expect(throws: CARError.self) { try CARReader.readAll(Data()) }
    }

    @Test func blockStoreServesVerifiedBlocks() async throws {
        let blocks = Self.sampleBlocks()
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("car-\(UUID().uuidString).car")
        defer { try? FileManager.default.removeItem(at: url) }
        try CAREncoder.encode(roots: [blocks[2].cid], blocks: blocks).write(to: url)
        let store = try CARBlockStore(urls: [url])
        #expect(await store.root == blocks[2].cid)
        for b in blocks { #expect(try await store.block(b.cid) == b.bytes) }
        await #expect(throws: CARError.self) { try await store.block(CID.sha256(codec: 0x55, [UInt8]([42]))) }
        // Corrupt the file after indexing: the read must fail verification.
        var data = try Data(contentsOf: url)
        data[data.count - 1] ^= 1
        try data.write(to: url)
        let store2 = try CARBlockStore(urls: [url])
        await #expect(throws: CARError.self) { try await store2.block(blocks[4].cid) }
    }
}
