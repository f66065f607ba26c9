import Foundation
import IPLD
import Multiformats

extension FuzzTargets {
    static let codecs: [FuzzTarget] = [
        FuzzTarget(name: "varint", summary: "Varint.decode; a decoded value re-encodes to the bytes it came from") { input in
            guard let (value, length) = try? Varint.decode(input, at: 0) else { return }
            try require(Varint.encode(value) == Array(input[0..<length]), "varint \(input.prefix(length)) re-encodes differently")
        },
        FuzzTarget(name: "multibase", summary: "Multibase.decode of the bytes as text; decode → encode → decode is stable") { input in
            guard let (base, bytes) = try? Multibase.decode(text(input)) else { return }
            let again = try Multibase.decode(base.encode(bytes))
            try require(again.bytes == bytes, "multibase \(base) does not round-trip")
        },
        FuzzTarget(name: "cid", summary: "CID from bytes and from text; a parsed CID round-trips through both forms") { input in
            if let cid = try? CID(bytes: input) {
                try require(cid.bytes == input, "CID bytes do not round-trip")
                try require(try CID(cid.description) == cid, "CID text does not round-trip")
            }
            if let cid = try? CID(text(input)) { try require(try CID(bytes: cid.bytes) == cid, "a CID parsed from text does not round-trip") }
        },
        FuzzTarget(name: "dag-cbor", summary: "strict DAG-CBOR: what decodes re-encodes to the same bytes") { input in
            guard let value = try? DAGCBOR.decode(input) else { return }
            try require(try DAGCBOR.encode(value) == input, "DAG-CBOR accepted a non-canonical encoding")
        },
        FuzzTarget(name: "dag-json", summary: "DAG-JSON: decode → encode → decode gives the same value") { input in
            guard let value = try? DAGJSON.decode(input) else { return }
            let encoded = try DAGJSON.encode(value)
            try require(try DAGJSON.decode(encoded) == value, "DAG-JSON does not round-trip")
        },
        FuzzTarget(name: "dag-pb", summary: "DAG-PB as @ipld/dag-pb reads it; what decodes re-encodes canonically, to the same node") { input in
            guard let node = try? DAGPB.decode(input) else { return }
            // Like @ipld/dag-pb, the decoder takes varints that are longer than they need to be (the block is what
            // its CID hashes); what it decoded re-encodes canonically, to bytes that decode to the same node.
            let canonical = DAGPB.encode(node)
            try require(DAGPB.encode(try DAGPB.decode(canonical)) == canonical, "a DAG-PB node does not round-trip")
            try require(canonical == input || input.count > canonical.count, "DAG-PB accepted a non-canonical encoding")
        },
    ]
}
