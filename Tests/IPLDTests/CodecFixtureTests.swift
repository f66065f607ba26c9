import Foundation
import Testing
import Multiformats
@testable import IPLD

enum Fixtures {
    static var root: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("shared/vectors/codec-fixtures")
    }

    struct Form: Sendable, CustomStringConvertible {
        let fixture: String
        let cid: CID
        let codec: String
        let bytes: [UInt8]
        var description: String { "\(fixture)/\(codec)" }
    }

    static func names() -> [String] {
        let dir = root.appendingPathComponent("fixtures")
        return ((try? FileManager.default.contentsOfDirectory(atPath: dir.path)) ?? []).sorted().filter { name in
            var isDirectory: ObjCBool = false
            return FileManager.default.fileExists(atPath: dir.appendingPathComponent(name).path, isDirectory: &isDirectory) && isDirectory.boolValue
        }
    }

    static func forms(_ name: String) throws -> [Form] {
        let dir = root.appendingPathComponent("fixtures").appendingPathComponent(name)
        return try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted().map { file in
            let parts = file.split(separator: ".", maxSplits: 1)
            let bytes = try [UInt8](Data(contentsOf: dir.appendingPathComponent(file)))
            return Form(fixture: name, cid: try CID(String(parts[0])), codec: String(parts[1]), bytes: bytes)
        }
    }

    static func decode(_ form: Form) throws -> IPLDValue {
        switch form.codec {
        case "dag-cbor": return try DAGCBOR.decode(form.bytes)
        case "dag-json": return try DAGJSON.decode(form.bytes)
        case "dag-pb": return DAGPB.value(of: try DAGPB.decode(form.bytes))
        default: throw DAGPBError.invalidForm("unknown codec \(form.codec)")
        }
    }

    static func encode(_ value: IPLDValue, codec: String) throws -> [UInt8] {
        switch codec {
        case "dag-cbor": return try DAGCBOR.encode(value)
        case "dag-json": return try DAGJSON.encode(value)
        case "dag-pb": return DAGPB.encode(try DAGPB.node(from: value))
        default: throw DAGPBError.invalidForm("unknown codec \(codec)")
        }
    }

    static func hex(_ s: String) -> [UInt8] {
        var out: [UInt8] = []
        var it = s.makeIterator()
        while let a = it.next(), let b = it.next() { out.append(UInt8(String([a, b]), radix: 16) ?? 0) }
        return out
    }
}

@Suite struct CodecFixtureTests {
    /// Fixtures where the IPLD spec leaves behaviour open. None are needed at present; an entry here
    /// must name the fixture and the reason.
    static let openBehaviour: [String: String] = [:]

    @Test("codec-fixtures round-trip", arguments: Fixtures.names())
    func roundTrip(_ name: String) throws {
        guard Self.openBehaviour[name] == nil else { return }
        let forms = try Fixtures.forms(name)
        try #require(!forms.isEmpty)
        var values: [IPLDValue] = []
        for form in forms {
            #expect(form.cid.multihash.verifies(form.bytes), "\(form) hashes to its CID")
            let value = try Fixtures.decode(form)
            let again = try Fixtures.encode(value, codec: form.codec)
            #expect(again == form.bytes, "\(form) re-encodes identically")
            values.append(value)
        }
        for v in values.dropFirst() { #expect(v == values[0], "all forms of \(name) decode to the same data") }
    }

    @Test func allFixturesAreFound() {
        #expect(Fixtures.names().count >= 127, "the codec-fixtures must be present at ../shared/vectors/codec-fixtures")
    }

    @Test func negativeDAGCBOR() throws {
        let cases = try DAGJSON.decode(try Data(contentsOf: Fixtures.root.appendingPathComponent("negative-fixtures/dag-cbor/decode/duplicate-keys.json")))
        for c in cases.listValue ?? [] {
            let bytes = Fixtures.hex(c["hex"]?.stringValue ?? "")
            #expect(throws: DAGCBORError.self, "\(c["name"]?.stringValue ?? "")") { try DAGCBOR.decode(bytes) }
        }
    }

    @Test func negativeDAGJSON() throws {
        let cases = try DAGJSON.decode(try Data(contentsOf: Fixtures.root.appendingPathComponent("negative-fixtures/dag-json/decode/duplicate-keys.json")))
        for c in cases.listValue ?? [] {
            let bytes = Fixtures.hex(c["hex"]?.stringValue ?? "")
            #expect(throws: DAGJSONError.self, "\(c["name"]?.stringValue ?? "")") { try DAGJSON.decode(bytes) }
        }
    }

    @Test func negativeDAGPBDecode() throws {
        let cases = try DAGJSON.decode(try Data(contentsOf: Fixtures.root.appendingPathComponent("negative-fixtures/dag-pb/decode/edges.json")))
        let list = try #require(cases.listValue)
        #expect(list.count == 9)
        for c in list {
            let bytes = Fixtures.hex(c["hex"]?.stringValue ?? "")
            #expect(throws: DAGPBError.self, "\(c["name"]?.stringValue ?? "")") { try DAGPB.decode(bytes) }
        }
    }

    @Test(arguments: ["basic-datamodel-kinds.json", "invalid-forms.json"])
    func negativeDAGPBEncode(_ file: String) throws {
        let cases = try DAGJSON.decode(try Data(contentsOf: Fixtures.root.appendingPathComponent("negative-fixtures/dag-pb/encode/\(file)")))
        let list = try #require(cases.listValue)
        #expect(list.count > 10)
        for c in list {
            let form = try #require(c["dag-json"])
            #expect(throws: DAGPBError.self, "\(c["name"]?.stringValue ?? "")") { try DAGPB.node(from: form) }
        }
    }
}

@Suite struct DAGCBORStrictnessTests {
    @Test func rejectsNonCanonical() {
        let cases: [(String, [UInt8])] = [
            ("non-minimal int", [0x18, 0x01]),
            ("non-minimal length", [0x59, 0x00, 0x01, 0x61]),
            ("indefinite list", [0x9f, 0xff]),
            ("indefinite string", [0x7f, 0xff]),
            ("unsorted keys", [0xa2, 0x62, 0x61, 0x61, 0x01, 0x61, 0x62, 0x02]),
            ("32-bit float", [0xfa, 0x3f, 0x80, 0x00, 0x00]),
            ("NaN", [0xfb, 0x7f, 0xf8, 0, 0, 0, 0, 0, 0]),
            ("undefined", [0xf7]),
            ("tag other than 42", [0xc1, 0x01]),
            ("CID without 00 prefix", [0xd8, 0x2a, 0x42, 0x01, 0x55]),
            ("absurd length", [0x5b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]),
            ("absurd list", [0x9b, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]),
            ("non-string key", [0xa1, 0x01, 0x02]),
            ("truncated", [0x83, 0x01]),
            ("trailing bytes", [0x01, 0x02]),
            ("invalid UTF-8", [0x62, 0xc3, 0x28]),
        ]
        for (name, bytes) in cases {
            #expect(throws: DAGCBORError.self, "\(name)") { try DAGCBOR.decode(bytes) }
        }
    }

    @Test func hugeDeclaredCountsDoNotPreallocate() throws {
        // A list header claiming 2^32-1 items over a few bytes, and a 1 MB list of 1M small items.
        #expect(throws: DAGCBORError.self) { try DAGCBOR.decode([0x9a, 0xff, 0xff, 0xff, 0xff, 0x00, 0x00]) }
        let many = [UInt8]([0x9a, 0x00, 0x0f, 0x42, 0x40]) + [UInt8](repeating: 0x00, count: 1_000_000)
        #expect(try DAGCBOR.decode(many).listValue?.count == 1_000_000)
        #expect(throws: CID.Error.self) { try CID("z" + String(repeating: "2", count: 100_000)) }
    }

    @Test func rejectsDeepNesting() {
        let deep = [UInt8](repeating: 0x81, count: 100_000) + [0x01]
        #expect(throws: DAGCBORError.self) { try DAGCBOR.decode(deep) }
        let deepJSON = [UInt8](repeating: UInt8(ascii: "["), count: 100_000)
        #expect(throws: DAGJSONError.self) { try DAGJSON.decode(deepJSON) }
    }

    @Test func mapKeyOrderIsLengthFirst() throws {
        let bytes = try DAGCBOR.encode(["version": 1, "roots": []])
        #expect(bytes == [0xa2, 0x65] + Array("roots".utf8) + [0x80, 0x67] + Array("version".utf8) + [0x01])
        #expect(try DAGJSON.encodeString(["nb": 1, "can": 2, "with": 3]) == #"{"can":2,"nb":1,"with":3}"#)
    }

    @Test func jsNumberFormatting() throws {
        let cases: [(Double, String)] = [(1, "1.0"), (0.5, "0.5"), (-1.1, "-1.1"), (1e21, "1e+21"), (1e-7, "1e-7"), (123456789012345680000, "123456789012345680000.0"), (0.000001, "0.000001"), (5e-324, "5e-324"), (1.7976931348623157e308, "1.7976931348623157e+308")]
        for (d, s) in cases { #expect(try DAGJSON.encodeString(.float(d)) == s) }
    }
}
