import Foundation
import Testing
import CAR
import IPLD
import Multiformats
import TestSupport
@testable import UCAN

@Suite struct PrincipalTests {
    @Test func wellKnownKeys() throws {
        let cases: [(Ed25519Signer, String, String, String)] = [
            (Principals.alice, "53e6f3a7619a1501eca39f3b8921563d2782cdb49f9ff09b347133ee294a459d", "5440c98c4bbaaae14853cca9f75fd363ff8c60af06be52a84c39ea382a2f0953", "did:key:z6Mkk89bC3JrVqKie71YEcc5M1SMVxuCgNx6zLZ8SYJsxALi"),
            (Principals.bob, "1b8f90097d5bddae3923342c41de2014c31ed1407550ec7d6c2b21f2e3a228b1", "11ebd780bd55ef73c3f6c9ce088a0e3606fec90f6cc9c61c8500bc932811e2a6", "did:key:z6MkffDZCkCTWreg8868fG1FGFogcJj5X6PY93pPcWDn9bob"),
            (Principals.mallory, "2d1f402f631890c011baf995dcc255f2c2af6d239d06da60805096f0aeb6a190", "d1e9456249775257f743703f12f715634bad6f87ad89213c7baa62e07d051265", "did:key:z6MktafZTREjJkvV5mfJxcLpNBoVPwDLhTuMg9ng7dY4zMAL"),
            (Principals.service, "0a5e81d5cbb564e3f4237041a2f8c0aa8e7b5489ab315c9f2e24a634aa1d757b", "b3c5ac76a18aef1a2d860ac3cf3583d0c13bca73e3cf6a245c387ce77ee521df", "did:key:z6MkrZ1r5XBFZjBU34qyD8fueMbMRkKw17BZaq2ivKFjnz2z"),
        ]
        for (signer, seed, pk, did) in cases {
            #expect(toHex(signer.seed) == seed)
            #expect(toHex(signer.publicKey) == pk)
            #expect(signer.did.string == did)
            #expect(toHex(signer.did.bytes) == "ed01" + pk)
            #expect(try Ed25519Signer(seed: hex(seed)).format() == signer.format())
            #expect(try Ed25519Verifier(didKey: signer.did).publicKey == signer.publicKey)
            #expect(try DID(bytes: signer.did.bytes) == signer.did)
        }
        #expect(Principals.alice.format() == "MgCZT5vOnYZoVAeyjnzuJIVY9J4LNtJ+f8Js0cTPuKUpFne0BVEDJjEu6quFIU8yp91/TY/+MYK8GvlKoTDnqOCovCVM=")
        let slash = try Ed25519Signer(parsing: "MgCYY9lYduqC9rrtD1YvZzcEfPCFBaYsTe0T+8RLLBawPWu0BAaNqeI86jQPsOeSaZ7p+ZPWGFqggfvSMFw+AJ7BH8/U=")
        #expect(slash.did.string == "did:key:z6MkeZeyji49ZVbinyPENzhZMVML7s79bbjN9K4iNFBsFkdr")
        #expect(slash.format() == "MgCYY9lYduqC9rrtD1YvZzcEfPCFBaYsTe0T+8RLLBawPWu0BAaNqeI86jQPsOeSaZ7p+ZPWGFqggfvSMFw+AJ7BH8/U=")
    }

    @Test func principalBytes() throws {
        #expect(toHex(DID("did:web:up.storacha.network").bytes) == "9d1a7765623a75702e73746f72616368612e6e6574776f726b")
        #expect(toHex(DID("did:mailto:example.com:alice").bytes) == "9d1a6d61696c746f3a6578616d706c652e636f6d3a616c696365")
        #expect(DID("did:echo:1").bytes == [157, 26, 101, 99, 104, 111, 58, 49])
        #expect(try DID(bytes: hex("9d1a6578616d706c653a616c696365")).string == "did:example:alice")
        #expect(try DID.mailto(email: "tag+alice@web.mail").string == "did:mailto:web.mail:tag%2Balice")
        #expect(try DID.mailto(email: "jsmith@example.com").string == "did:mailto:example.com:jsmith")
        #expect(DID("did:mailto:web.mail:tag%2Balice").email == "tag+alice@web.mail")
        #expect(throws: UCANError.self) { try DID(bytes: [0x55, 1, 2]) }
        let bad = "nope"
        #expect(throws: UCANError.self) { try DID(bad) }
        #expect(throws: UCANError.self) { try Ed25519Signer(parsing: "MgCZ") }
        #expect(throws: UCANError.self) { try Ed25519Signer(bytes: [UInt8](repeating: 0, count: 68)) }
    }
}

@Suite struct RealFixtureTests {
    @Test func f1DelegationArchive() throws {
        let data = try Data(contentsOf: sharedVectors.appendingPathComponent("wire/delegationnonb.car"))
        let d = try Delegation.extract(data)
        #expect(d.cid.description == "bafyreieftz7fmonhkvak6cibt7c5qewkxbf565jjqcysed5rjes46v2skm")
        #expect(d.issuer.string == "did:key:z6MkpveRpPySqSVXyhAmWbyQLdY9w5noKr1Ff2MX8P9htje9")
        #expect(d.audience.string == "did:example:alice")
        #expect(d.capabilities == [Capability(can: "do/something", with: "did:key:123456789")])
        #expect(d.expiration == 1_750_277_501)
        #expect(try d.archive() == data)
        #expect(String(decoding: try d.ucan.signingInput(), as: UTF8.self) == "eyJhbGciOiJFZERTQSIsInR5cCI6IkpXVCIsInVjdiI6IjAuOS4xIn0.eyJhdHQiOlt7ImNhbiI6ImRvL3NvbWV0aGluZyIsIndpdGgiOiJkaWQ6a2V5OjEyMzQ1Njc4OSJ9XSwiYXVkIjoiZGlkOmV4YW1wbGU6YWxpY2UiLCJleHAiOjE3NTAyNzc1MDEsImlzcyI6ImRpZDprZXk6ejZNa3B2ZVJwUHlTcVNWWHloQW1XYnlRTGRZOXc1bm9LcjFGZjJNWDhQOWh0amU5IiwicHJmIjpbXX0")
        #expect(d.ucan.verifySignature(try Ed25519Verifier(didKey: d.issuer)))
        #expect(try d.ucan.block().bytes == d.root.bytes)
    }

    @Test func f2BridgeHeaderChain() throws {
        let car = try Multibase.decode(WireVectors.f2)
        #expect(car.bytes.count == 1192)
        let d = try Delegation.extract(Data(car.bytes))
        #expect(d.cid.description == "bafyreifwybvmr5dwaivw4f5piuej4jc4uonqtmkdm6sgrp2qdpddnc5rtq")
        guard case .delegation(let parent)? = d.proofs.first else { Issue.record("proof not inlined"); return }
        #expect(parent.cid.description == "bafyreid6usp6vgrjk64n5vzdidgh2yoflp46tprfovqptz33o7y4orlr3q")
        #expect(parent.facts.first?["space"]?["name"] == "travis")
        #expect(d.ucan.verifySignature(try Ed25519Verifier(didKey: d.issuer)))
        #expect(parent.ucan.verifySignature(try Ed25519Verifier(didKey: parent.issuer)))
        #expect(try d.archive() == Data(car.bytes))
    }

    @Test func f3ProductionResponse() throws {
        let data = try Data(contentsOf: sharedVectors.appendingPathComponent("wire/workflow.car"))
        let message = try AgentMessageFixture.decode(data)
        let task = try CID("bafyreibo6nqtvp67daj7dkmeb5c2n6bg5bunxdmxq3lghtp3pmjtzpzfma")
        let receipt = try #require(message.receipts[task.description])
        #expect(receipt.cid.description == "bafyreibl67tvjaoqtaavedcy23mttzk6ii7kjrzeyuhs2bukrcbslndg4a")
        #expect(receipt.issuer?.string == "did:web:web3.storage")
        #expect(receipt.out.isOK)
        let key = try Ed25519Verifier(didKey: "did:key:z6MkqdncRZ1wj8zxCTDUQ8CRT8NQWd63T7mZRvZUX8B7XDFi").withDID("did:web:web3.storage")
        #expect(receipt.verifySignature(key))
        let invocation = try #require(receipt.ranInvocation)
        #expect(invocation.expiration == nil)
        #expect(invocation.capabilities[0].can == "filecoin/accept")
        #expect(invocation.ucan.verifySignature(key))
        #expect(try invocation.ucan.block().bytes == invocation.root.bytes)
        // Re-encoding the receipt's export reproduces the file byte for byte.
        #expect(CAREncoder.encode(roots: [message.root], blocks: receipt.export() + [message.rootBlock]) == data)
    }
}

/// Minimal reader for a response message, so this test target need not depend on Ucanto.
struct AgentMessageFixture {
    let root: CID
    let rootBlock: Block
    let receipts: [String: Receipt]

    static func decode(_ data: Data) throws -> AgentMessageFixture {
        let (header, list) = try CARReader.readAll(data)
        var blocks: [CID: Block] = [:]
        for b in list { blocks[b.cid] = b }
        let root = header.roots[0]
        let body = try DAGCBOR.decode(blocks[root]!.bytes)["ucanto/message@7.0.0"]!
        var receipts: [String: Receipt] = [:]
        for (k, v) in body["report"]?.mapValue ?? [:] { receipts[k] = try Receipt(root: v.linkValue!, blocks: blocks) }
        return AgentMessageFixture(root: root, rootBlock: blocks[root]!, receipts: receipts)
    }
}

@Suite struct DerivedVectorTests {
    @Test(.enabled(if: deterministicSignatures, "byte-exact Ed25519 signatures (Linux)")) func tvADelegation() throws {
        let v = vector("TV-A")
        let d = try tvA()
        #expect(String(decoding: try d.ucan.signingInput(), as: UTF8.self) == v.code[0])
        #expect(toHex(d.ucan.signature.raw) == v.hex[0])
        #expect(toHex(d.root.bytes) == v.hex[1])
        #expect(d.cid.description == v.cids[0])
        #expect(d.ucan.verifySignature(Principals.alice.verifier))
        #expect(!d.ucan.verifySignature(Principals.bob.verifier))
        let decoded = try UCAN(block: d.root)
        #expect(decoded == d.ucan)
    }

    @Test(.enabled(if: deterministicSignatures, "byte-exact Ed25519 signatures (Linux)")) func tvBInvocation() throws {
        let v = vector("TV-B")
        let inv = try tvB()
        #expect(String(decoding: try inv.ucan.signingInput(), as: UTF8.self) == v.code[0])
        #expect(toHex(inv.ucan.signature.raw) == v.hex[0])
        #expect(toHex(inv.root.bytes) == v.hex[1])
        #expect(inv.cid.description == v.cids.last)
        #expect(inv.export().map(\.cid) == [try tvA().cid, inv.cid])
    }

    @Test(.enabled(if: deterministicSignatures, "byte-exact Ed25519 signatures (Linux)")) func tvEAbsentee() throws {
        let v = vector("TV-E")
        let d = try Delegation.delegate(issuer: AbsenteeSigner(did: "did:mailto:example.com:alice"), audience: Principals.alice.did,
                                        capabilities: [Capability(can: "*", with: "ucan:*")], expiration: .never)
        #expect(toHex(d.ucan.issuer.bytes) == v.hex[0])
        #expect(toHex(d.ucan.signature.bytes) == "80a00300")
        #expect(toHex(d.root.bytes) == v.hex[1])
        #expect(d.cid.description == v.cids[0])
        #expect(try UCAN(block: d.root) == d.ucan)
    }

    @Test(.enabled(if: deterministicSignatures, "byte-exact Ed25519 signatures (Linux)")) func tvFFactsNotBeforeDidWeb() throws {
        let v = vector("TV-F")
        let d = try Delegation.delegate(issuer: Principals.alice, audience: "did:web:up.storacha.network",
                                        capabilities: [Capability(can: "space/info", with: Principals.alice.did.string)], expiration: .never,
                                        notBefore: 1_690_000_000, facts: [["b": 1, "aa": "x"]])
        #expect(String(decoding: try d.ucan.signingInput(), as: UTF8.self) == v.code[0])
        #expect(toHex(d.ucan.signature.raw) == v.hex[0])
        #expect(toHex(d.root.bytes) == v.hex[1])
        #expect(d.cid.description == v.cids[0])
    }

    @Test(.enabled(if: deterministicSignatures, "byte-exact Ed25519 signatures (Linux)")) func tvGArchiveAndString() throws {
        let v = vector("TV-G")
        let d = try tvA()
        let archive = try d.archive()
        #expect(toHex(archive) == v.hex[1])
        let (header, _) = try CARReader.readAll(archive)
        #expect(header.roots.map(\.description) == [v.cids[0]])
        #expect(try d.formatString() == v.code[0])
        #expect(try Delegation.parse(string: v.code[0]).root == d.root)
        // Legacy form: base64 of a plain CAR whose last block is the delegation.
        let legacy = CAREncoder.encode(roots: [d.cid], blocks: d.export())
        #expect(try Delegation.parse(string: Data(legacy).base64EncodedString()).cid == d.cid)
        #expect(throws: UCANError.self) { try Delegation.parse(string: "not a proof") }
    }

    @Test(.enabled(if: deterministicSignatures, "byte-exact Ed25519 signatures (Linux)")) func tvHDefaultExpiration() throws {
        let v = vector("TV-H")
        let inv = try Delegation.invoke(issuer: Principals.alice, audience: Principals.service.did,
                                        capability: Capability(can: "test/echo", with: Principals.alice.did.string), now: 1_700_000_000)
        #expect(inv.expiration == 1_700_000_030)
        #expect(toHex(inv.root.bytes) == v.hex[0])
        #expect(inv.cid.description == v.cids[0])
    }

    @Test(.enabled(if: deterministicSignatures, "byte-exact Ed25519 signatures (Linux)")) func tvIEmptyNonce() throws {
        let v = vector("TV-I")
        let d = try Delegation.delegate(issuer: Principals.alice, audience: Principals.bob.did,
                                        capabilities: [Capability(can: "store/add", with: Principals.alice.did.string)],
                                        expiration: .at(1_700_000_000), nonce: "")
        #expect(toHex(d.root.bytes) == v.hex[0])
        #expect(d.cid.description == v.cids[0])
        #expect(d.ucan.signature == (try tvA()).ucan.signature)
        #expect(d.ucan.verifySignature(Principals.alice.verifier))
    }

    @Test(.enabled(if: deterministicSignatures, "byte-exact Ed25519 signatures (Linux)")) func tvJConcludeWithAttachments() throws {
        let v = vector("TV-J")
        let blocks = try (0..<12).map { try Block(dagCBOR: ["i": .int($0)]) }
        let proof = try Delegation.delegate(issuer: Principals.alice, audience: Principals.bob.did,
                                            capabilities: [Capability(can: "ucan/*", with: Principals.alice.did.string)], expiration: .at(1_700_000_000))
        #expect(toHex(proof.root.bytes) == v.hex[0])
        var fact: [String: IPLDValue] = [:]
        for (i, b) in blocks.enumerated() { fact[String(i)] = .link(b.cid) }
        let inv = try Delegation.invoke(issuer: Principals.bob, audience: Principals.service.did,
                                        capability: Capability(can: "ucan/conclude", with: Principals.alice.did.string, nb: ["receipt": .link(blocks[0].cid)]),
                                        expiration: .never, facts: [fact], proofs: [.delegation(proof)], attachments: blocks)
        #expect(toHex(inv.root.bytes) == v.hex[1])
        #expect(inv.cid.description == v.cids[1])
        let message = try Block(dagCBOR: ["ucanto/message@7.0.0": ["execute": [.link(inv.cid)]]])
        let car = CAREncoder.encode(roots: [message.cid], blocks: inv.export() + [message])
        #expect(car.count == 1868)
        #expect(sha256Hex(car) == v.hex[2])
        #expect((inv.export() + [message]).map(\.cid.description) == WireVectors.tvJOrder)
        // Attaching a block that nothing links to is refused.
        #expect(throws: UCANError.self) {
            try Delegation.invoke(issuer: Principals.bob, audience: Principals.service.did,
                                  capability: Capability(can: "ucan/conclude", with: Principals.alice.did.string), attachments: [blocks[3]])
        }
    }

    @Test(.enabled(if: deterministicSignatures, "byte-exact Ed25519 signatures (Linux)")) func tvDReceipts() throws {
        let v = vector("TV-D")
        let inv = try tvB()
        let receipt = try Receipt.issue(issuer: Principals.service, ran: .delegation(inv), result: .ok(["hello": "world"]))
        #expect(toHex(try DAGCBOR.encode(receipt.ocm)) == v.hex[0])
        #expect(toHex(receipt.signature.bytes) == v.hex[1])
        #expect(toHex(receipt.root.bytes) == v.hex[2])
        #expect(receipt.cid.description == v.cids[0])
        #expect(receipt.verifySignature(Principals.service.verifier))
        #expect(!receipt.verifySignature(Principals.alice.verifier))
        #expect(receipt.export().map(\.cid) == [try tvA().cid, inv.cid, receipt.cid])
        let decoded = try Receipt(root: receipt.cid, blocks: receipt.blocks)
        #expect(decoded == receipt)
        let v2 = vector("TV-D2")
        let failure = try Receipt.issue(issuer: Principals.service, ran: .delegation(inv), result: .failure(name: "Unauthorized", message: "nope"))
        #expect(toHex(try DAGCBOR.encode(failure.ocm)) == v2.hex[0])
        #expect(toHex(failure.root.bytes) == v2.hex[1])
        #expect(failure.cid.description == v2.cids[0])
        #expect(failure.out.errorName == "Unauthorized")
    }

    @Test func jwtFormIsReadable() throws {
        // A UCAN whose JWT is signed as written keeps verifying from its JWT form.
        let d = try tvA()
        let jwt = String(decoding: try d.ucan.signingInput(), as: UTF8.self) + "." + Base64URL.encode(d.ucan.signature.raw)
        let parsed = try UCAN(jwt: jwt)
        #expect(parsed.issuer == Principals.alice.did && parsed.capabilities == d.capabilities)
        #expect(parsed.verifySignature(Principals.alice.verifier))
        let block = try parsed.block()
        #expect(block.cid.codec == CID.Codec.raw)
        #expect(try UCAN(block: block).verifySignature(Principals.alice.verifier))
    }
}

@Suite struct AwaitTests {
    @Test func awaitRoundTripAndResolve() throws {
        let inv = try tvB()
        let receipt = try Receipt.issue(issuer: Principals.service, ran: .delegation(inv),
                                        result: .ok(["address": ["url": "http://127.0.0.1/put", "headers": ["content-length": "3"]]]))
        let a = UCANAwait(selector: ".out.ok.address.url", task: inv.cid)
        #expect(UCANAwait(ipld: a.ipld) == a)
        #expect(a.resolve(in: receipt) == "http://127.0.0.1/put")
        #expect(UCANAwait(selector: ".out.ok.missing", task: inv.cid).resolve(in: receipt) == nil)
        #expect(UCANAwait(ipld: ["ucan/await": ["x"]]) == nil)
        // Effects: fork and join links survive the round trip.
        let withFx = try Receipt.issue(issuer: Principals.service, ran: .delegation(inv), result: .ok(["site": a.ipld]),
                                       fork: [.delegation(try tvA())], join: .link(inv.cid))
        let back = try Receipt(root: withFx.cid, blocks: withFx.blocks)
        #expect(back.fork == [try tvA().cid] && back.join == inv.cid)
        #expect(back.forkedInvocations.map(\.cid) == [try tvA().cid])
        #expect(UCANAwait(ipld: back.out.okValue?["site"] ?? .null) == a)
    }
}
