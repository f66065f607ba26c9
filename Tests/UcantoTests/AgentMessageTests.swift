import Foundation
import Testing
import CAR
import IPLD
import Multiformats
import UCAN
import TestSupport
@testable import Ucanto

@Suite struct AgentMessageTests {
    @Test(.enabled(if: deterministicSignatures, "byte-exact Ed25519 signatures (Linux)")) func tvCRequest() throws {
        let v = vector("TV-C")
        let message = try AgentMessage.request([try tvB()])
        #expect(toHex(message.root.bytes) == v.hex[0])
        #expect(message.root.cid.description == v.cids[0])
        let body = message.encode()
        #expect(body.count == 910)
        #expect(sha256Hex(body) == v.hex[1])
        #expect(toHex(body) == v.hex[2])
        // The service side reads it back.
        let decoded = try AgentMessage.decode(body)
        #expect(decoded.invocations.map(\.cid) == [try tvB().cid])
        #expect(decoded.invocations[0].proofs.first?.cid == (try tvA()).cid)
    }

    @Test(.enabled(if: deterministicSignatures, "byte-exact Ed25519 signatures (Linux)")) func tvDResponse() throws {
        let v = vector("TV-D")
        let receipt = try Receipt.issue(issuer: Principals.service, ran: .delegation(try tvB()), result: .ok(["hello": "world"]))
        let message = try AgentMessage.response([receipt])
        #expect(toHex(message.root.bytes) == v.hex[3])
        #expect(message.root.cid.description == v.cids[2])
        let body = message.encode()
        #expect(body.count == 1238)
        #expect(sha256Hex(body) == v.hex[4])
        #expect(toHex(body) == v.hex[5])
        let decoded = try AgentMessage.decode(body)
        let got = try #require(decoded.receipt(for: try tvB().cid))
        #expect(got.cid == receipt.cid)
        #expect(got.out == .ok(["hello": "world"]))
        #expect(got.verifySignature(Principals.service.verifier))
    }

    @Test func f3ReencodesByteForByte() throws {
        let data = try Data(contentsOf: sharedVectors.appendingPathComponent("wire/workflow.car"))
        let message = try AgentMessage.decode(data)
        #expect(message.invocations.isEmpty)
        let receipt = try #require(message.receipts["bafyreibo6nqtvp67daj7dkmeb5c2n6bg5bunxdmxq3lghtp3pmjtzpzfma"])
        #expect(try AgentMessage.response([receipt]).encode() == data)
    }

    @Test func goVariantsAreAccepted() throws {
        // Go writes `execute: []` in responses and `nb: {}` for capabilities without caveats.
        let cap: IPLDValue = ["can": "space/info", "with": .string(Principals.alice.did.string), "nb": [:]]
        let ucanValue: [String: IPLDValue] = [
            "v": "0.9.1", "iss": .bytes(Principals.alice.did.bytes), "aud": .bytes(Principals.service.did.bytes),
            "att": [cap], "exp": .null, "prf": [],
        ]
        let capability = try Capability(ipld: cap)
        #expect(capability.nb == [:])
        let input = try UCAN.signingInput(algorithm: "EdDSA", version: "0.9.1", issuer: Principals.alice.did, audience: Principals.service.did,
                                          capabilities: [capability], expiration: nil, notBefore: nil, nonce: nil, facts: [], proofs: [])
        #expect(String(decoding: input, as: UTF8.self).contains("eyJhdHQiOlt7ImNhbiI6InNwYWNlL2luZm8iLCJuYiI6e30s"))  // "nb":{} is signed too
        var full = ucanValue
        full["s"] = .bytes(try Principals.alice.sign(input).bytes)
        let block = try Block(dagCBOR: .map(full))
        let invocation = try Delegation(root: block.cid, blocks: [block.cid: block])
        #expect(invocation.ucan.verifySignature(Principals.alice.verifier))
        #expect(try invocation.ucan.block() == block)
        let receipt = try Receipt.issue(issuer: Principals.service, ran: .delegation(invocation), result: .ok([:]))
        let msg = try Block(dagCBOR: ["ucanto/message@7.0.0": ["execute": [], "report": [invocation.cid.description: .link(receipt.cid)]]])
        let car = CAREncoder.encode(roots: [msg.cid], blocks: receipt.export() + [msg])
        let decoded = try AgentMessage.decode(car)
        #expect(decoded.invocations.isEmpty)
        #expect(decoded.receipt(for: invocation.cid)?.out == .ok([:]))
    }

    @Test func hostileBytesGiveTypedErrors() throws {
        var rng = SplitMix64(state: 42)
        let good = try AgentMessage.request([try tvB()]).encode()
        let archive = try tvA().archive()
        for i in 0..<2000 {
            var bytes = [UInt8](i % 2 == 0 ? good : archive)
            switch rng.next() % 3 {
            case 0: bytes[Int(rng.next() % UInt64(bytes.count))] ^= UInt8(truncatingIfNeeded: rng.next() | 1)
            case 1: bytes.removeLast(Int(rng.next() % UInt64(bytes.count)))
            default: bytes = (0..<Int(rng.next() % 200)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
            }
            _ = try? AgentMessage.decode(Data(bytes))
            _ = try? Delegation.extract(Data(bytes))
            _ = try? UCAN(ipld: DAGCBOR.decode(bytes))
            _ = try? UCANSignature(bytes: bytes)
            _ = try? DID(bytes: bytes)
            _ = try? UCAN(jwt: String(decoding: bytes, as: UTF8.self))
        }
        #expect(throws: UCANError.self) { try AgentMessage.decode(Data("garbage".utf8)) }
    }
}

