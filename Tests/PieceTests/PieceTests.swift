import Crypto
import Foundation
import Multiformats
@testable import Piece
import Testing
import TestSupport

/// The data-segment input generator: 64-byte blocks, each the SHA-512 of the previous 64 bytes.
func deriveBuffer(_ size: Int) -> [UInt8] {
    var out = [UInt8]()
    out.reserveCapacity(size + 64)
    var previous: [UInt8] = []
    while out.count < size {
        let block = Array(SHA512.hash(data: previous))
        out.append(contentsOf: block)
        previous = block
    }
    return Array(out.prefix(size))
}

@Suite struct PieceTests {
    struct Vector { let size: Int; let payload: String; let padded: UInt64; let piece: UInt64; let commP: String }

    static let vectors: [Vector] = {
        let text = (try? String(contentsOf: sharedVectors.appendingPathComponent("commp/vector.csv"), encoding: .utf8)) ?? ""
        return text.split(separator: "\n").dropFirst().compactMap { line in
            let f = line.split(separator: ",").map(String.init)
            guard f.count == 5, let size = Int(f[0]), let padded = UInt64(f[2]), let piece = UInt64(f[3]) else { return nil }
            return Vector(size: size, payload: f[1], padded: padded, piece: piece, commP: f[4])
        }
    }()

    /// Every data-segment vector up to 64 MiB, fed in uneven pieces so that the streaming path is tested.
    @Test func dataSegmentVectors() throws {
        let cases = PieceTests.vectors.filter { $0.size <= 64 << 20 }
        #expect(cases.count >= 60)
        for v in cases {
            let input = deriveBuffer(v.size)
            #expect(CID(codec: CID.Codec.raw, multihash: .sha256(input)).description == v.payload, "generator at \(v.size)")
            var hasher = PieceHasher()
            var offset = 0
            var step = 1
            while offset < input.count {
                let end = min(input.count, offset + step)
                hasher.update(input[offset..<end])
                offset = end
                step = step * 3 + 7
            }
            let piece = hasher.finalize()
            #expect(piece.pieceSize == v.piece && piece.paddedSize == v.padded, "sizes at \(v.size)")
            #expect(piece.v1CID.description == v.commP, "commP at \(v.size)")
        }
    }

    @Test func theEmptyPieceAndTheV2CID() {
        let piece = PieceHasher().finalize()
        #expect(piece.pieceSize == 128 && piece.height == 2 && piece.padding == 127)
        #expect(piece.cid.description == "bafkzcibcp4bdomn3tgwgrh3g532zopskstnbrd2n3sxfqbze7rxt7vqn7veigmy")
    }

    /// Hashing a file as parallel subtrees gives the same piece as one stream, whatever the size.
    @Test func parallelSubtreesEqualOneStream() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("piece-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        for (size, partHeight) in [(0, 4), (1, 4), (508, 4), (509, 4), (1016, 4), (5000, 4), (65_000, 5), (130_048, 10), (400_000, 8)] {
            let data = deriveBuffer(size)
            let url = dir.appendingPathComponent("\(size)")
            try Data(data).write(to: url)
            var hasher = PieceHasher()
            hasher.update(data)
            let expected = hasher.finalize()
            let parallel = try Piece.computed(fromFileAt: url, threads: 4, partHeight: partHeight)
            #expect(parallel == expected, "size \(size), part height \(partHeight)")
        }
        let v = try #require(PieceTests.vectors.last)
        let url = dir.appendingPathComponent("vector")
        try Data(deriveBuffer(v.size)).write(to: url)
        #expect(try Piece.computed(fromFileAt: url, threads: 2, partHeight: 12).v1CID.description == v.commP)
    }

    /// Both node-hash kernels (portable C, and the SHA extensions where the CPU has them) give
    /// swift-crypto's SHA-256 truncated to 254 bits, for odd and even counts, and in place.
    @Test func nodeHashKernelsEqualSHA256() {
        var rng = SystemRandomNumberGenerator()
        for count in [1, 2, 3, 64, 999] {
            let input = (0..<(64 * count)).map { _ in UInt8.random(in: 0...255, using: &rng) }
            let expected: [UInt8] = (0..<count).flatMap { i -> [UInt8] in
                var digest = Array(SHA256.hash(data: input[(64 * i)..<(64 * i + 64)]))
                digest[31] &= 0x3f
                return digest
            }
            for hardware in Set([false, NodeHash.hardware]) {
                var out = [UInt8](repeating: 0, count: 32 * count)
                input.withUnsafeBytes { i in out.withUnsafeMutableBytes { NodeHash.pairs(i, into: $0, count: count, hardware: hardware) } }
                #expect(out == expected, "\(count) messages, hardware \(hardware)")
                var inPlace = input
                inPlace.withUnsafeMutableBytes { NodeHash.pairs(UnsafeRawBufferPointer($0), into: $0, count: count, hardware: hardware) }
                #expect(Array(inPlace.prefix(32 * count)) == expected, "in place, \(count) messages, hardware \(hardware)")
            }
        }
    }
}
