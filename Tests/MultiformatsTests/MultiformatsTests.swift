import Foundation
import Testing
@testable import Multiformats

@Suite struct VarintTests {
    @Test func roundTrips() throws {
        for v: UInt64 in [0, 1, 127, 128, 255, 300, 16383, 16384, 0x0202, 0xd0ed, UInt64(1) << 35, Varint.maxValue] {
            let e = Varint.encode(v)
            #expect(e.count == Varint.encodedLength(v))
            let (d, n) = try Varint.decode(e, at: 0)
            #expect(d == v && n == e.count)
        }
        #expect(Varint.encode(0x0129) == [0xa9, 0x02])
        #expect(Varint.encode(0xd0ed) == [0xed, 0xa1, 0x03])
    }

    @Test func rejectsMalformed() throws {
        #expect(throws: Varint.Error.notMinimal(offset: 0)) { try Varint.decode([0x80, 0x00], at: 0) }
        #expect(throws: Varint.Error.truncated(offset: 0)) { try Varint.decode([0x80], at: 0) }
        // Nine bytes carry at most 63 bits, so anything at or past 2^63 needs a tenth byte: rejected.
        #expect(try Varint.decode([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f] as [UInt8], at: 0).value == Varint.maxValue)
        #expect(throws: Varint.Error.notMinimal(offset: 0)) { try Varint.decode([0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01], at: 0) }
        #expect(throws: Varint.Error.notMinimal(offset: 0)) { try Varint.decode([UInt8](repeating: 0xff, count: 10) + [0x01], at: 0) }
        #expect(throws: Varint.Error.truncated(offset: 0)) { try Varint.decode([UInt8](), at: 0) }
    }
}

@Suite struct MultibaseTests {
    @Test func rfc4648Vectors() throws {
        let cases: [(String, String, String, String)] = [
            ("", "", "", ""), ("f", "my", "Zg", "Zg=="), ("fo", "mzxq", "Zm8", "Zm8="), ("foo", "mzxw6", "Zm9v", "Zm9v"),
            ("foob", "mzxw6yq", "Zm9vYg", "Zm9vYg=="), ("fooba", "mzxw6ytb", "Zm9vYmE", "Zm9vYmE="), ("foobar", "mzxw6ytboi", "Zm9vYmFy", "Zm9vYmFy"),
        ]
        for (plain, b32, b64, b64pad) in cases {
            let bytes = Array(plain.utf8)
            #expect(Multibase.base32.encode(bytes) == "b" + b32)
            #expect(Multibase.base64.encode(bytes) == "m" + b64)
            #expect(Multibase.base64pad.encode(bytes) == "M" + b64pad)
            #expect(try Multibase.decode("b" + b32).bytes == bytes)
            #expect(try Multibase.decode("m" + b64).bytes == bytes)
            #expect(try Multibase.decode("M" + b64pad).bytes == bytes)
        }
        #expect(Multibase.base64url.encode([0xfb, 0xff]) == "u-_8")
        #expect(try Multibase.decode("u-_8").bytes == [0xfb, 0xff])
    }

    @Test func base58() throws {
        #expect(Multibase.base58btc.encode(Array("hello world".utf8)) == "zStV1DL6CwTryKyV")
        #expect(Multibase.base58btc.encode([0, 0, 1]) == "z112")
        #expect(try Multibase.decode("z112").bytes == [0, 0, 1])
        #expect(try Multibase.decode("zStV1DL6CwTryKyV").bytes == Array("hello world".utf8))
    }

    @Test func rejectsGarbage() {
        #expect(throws: Multibase.Error.self) { try Multibase.decode("") }
        #expect(throws: Multibase.Error.self) { try Multibase.decode("x123") }
        #expect(throws: Multibase.Error.self) { try Multibase.decode("b1") }
        #expect(throws: Multibase.Error.self) { try Multibase.decode("z0OIl") }
        #expect(throws: Multibase.Error.self) { try Multibase.decode("MZg=") }
        #expect(throws: Multibase.Error.self) { try Multibase.decode("mZ") }
    }
}

@Suite struct CIDTests {
    @Test func parsesAndFormatsV1() throws {
        let text = "bafybeie4fxkioskwb4h7xpb5f6tbktm4vjxt7rtsqjit72jrv3ii5h26sy"
        let cid = try CID(text)
        #expect(cid.version == 1 && cid.codec == CID.Codec.dagPB && cid.multihash.code == 0x12)
        #expect(cid.description == text)
        #expect(try CID(bytes: cid.bytes) == cid)
        #expect(cid.bytes.count == 36)
    }

    @Test func parsesV0() throws {
        let text = "QmNPWHBrVQiiV8FpyNuEPhB9E2rbvdy9Yx79EY1EJuyf9o"
        let cid = try CID(text)
        #expect(cid.version == 0 && cid.codec == CID.Codec.dagPB)
        #expect(cid.description == text)
        #expect(cid.v1.description.hasPrefix("bafybei"))
    }

    @Test func emptyRawBlock() {
        let cid = CID.sha256(codec: CID.Codec.raw, [UInt8]())
        #expect(cid.description == "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku")
    }

    @Test func carCodecAndIdentity() throws {
        let cid = CID(codec: CID.Codec.car, multihash: .identity([1, 2, 3]))
        #expect(cid.string(base: .base64).hasPrefix("mAYIEAA"))
        #expect(try CID(cid.string(base: .base64)) == cid)
    }

    @Test func rejectsBadCIDs() {
        #expect(throws: CID.Error.self) { try CID("") }
        #expect(throws: CID.Error.self) { try CID("bafy") }
        #expect(throws: CID.Error.self) { try CID(bytes: [0x02, 0x55, 0x12, 0x00]) }
        #expect(throws: CID.Error.self) { try CID(bytes: [0x01, 0x55, 0x12, 0x20, 0x00]) }
        #expect(throws: CID.Error.self) { try CID(bytes: [0x01, 0x55, 0x00, 0x00, 0x00]) }
    }
}

@Suite struct Murmur3Tests {
    @Test func hamtKeyHash() {
        #expect(Murmur3.x64_64(Array("file0.txt".utf8)).map { String(format: "%02x", $0) }.joined() == "a58e23b285245a2b")
    }
}
