import Foundation
import Testing
import IPLD
import Multiformats
import TestSupport
import UCAN
@testable import Ucanto

/// A service (did:web backed by the test service key), a space, an agent and an account.
struct World {
    let serviceKey = Principals.service
    var service: DIDSigner { serviceKey.withDID("did:web:test.storacha.network") }
    let space = Principals.alice
    let agent = Principals.bob
    let other = Principals.mallory
    let account: DID = "did:mailto:example.com:alice"
    let now = 1_800_000_000

    var validator: Validator { Validator(authority: service.verifier) }

    func delegate(_ issuer: some Signer, to audience: DID, can: String, with: String? = nil, nb: [String: IPLDValue]? = nil,
                  exp: Expiration = .never, nbf: Int? = nil, proofs: [Delegation] = []) throws -> Delegation {
        try Delegation.delegate(issuer: issuer, audience: audience, capabilities: [Capability(can: can, with: with ?? space.did.string, nb: nb)],
                                expiration: exp, notBefore: nbf, proofs: proofs.map { .delegation($0) }, now: now)
    }

    func invoke(_ issuer: some Signer, can: String = "upload/list", with: String? = nil, nb: [String: IPLDValue]? = nil,
                audience: DID? = nil, proofs: [Delegation.Proof] = []) throws -> Delegation {
        try Delegation.invoke(issuer: issuer, audience: audience ?? service.did, capability: Capability(can: can, with: with ?? space.did.string, nb: nb),
                              proofs: proofs, now: now)
    }

    func check(_ invocation: Delegation, validator: Validator? = nil) async -> Result<Authorization, ValidationError> {
        await (validator ?? self.validator).access(invocation, now: now)
    }
}

func leafNames(_ r: Result<Authorization, ValidationError>) -> [String] {
    if case .failure(let e) = r { return e.leafCauses.map(\.name) }
    return []
}

@Suite struct ValidatorTests {
    let w = World()

    // MARK: Passing chains

    @Test func chainOfOneSelfIssued() async throws {
        let r = await w.check(try w.invoke(w.space))
        let auth = try r.get()
        #expect(auth.chain.count == 1 && auth.rootIssuer == w.space.did)
    }

    @Test func chainOfTwo() async throws {
        let d = try w.delegate(w.space, to: w.agent.did, can: "upload/list")
        let auth = try await w.check(try w.invoke(w.agent, proofs: [.delegation(d)])).get()
        #expect(auth.chain.map(\.issuer) == [w.agent.did, w.space.did])
    }

    @Test func chainOfThreeWithWildcards() async throws {
        let d1 = try w.delegate(w.space, to: w.agent.did, can: "*")
        let d2 = try w.delegate(w.agent, to: w.other.did, can: "upload/*", proofs: [d1])
        let auth = try await w.check(try w.invoke(w.other, can: "upload/list", proofs: [.delegation(d2)])).get()
        #expect(auth.chain.count == 3)
        let spaceWildcard = try w.delegate(w.space, to: w.agent.did, can: "space/*")
        #expect((try? await w.check(try w.invoke(w.agent, can: "space/blob/list", proofs: [.delegation(spaceWildcard)])).get()) != nil)
        // `space/*` does not reach `upload/list`.
        #expect(leafNames(await w.check(try w.invoke(w.agent, can: "upload/list", proofs: [.delegation(spaceWildcard)]))) == ["InvalidClaim"])
    }

    @Test func accountWithAttestationPasses() async throws {
        // space → account (ucan:* style), account → agent (absent signature), service attests the latter.
        let toAccount = try w.delegate(w.space, to: w.account, can: "*")
        let session = try Delegation.delegate(issuer: AbsenteeSigner(did: w.account), audience: w.agent.did,
                                              capabilities: [Capability(can: "*", with: "ucan:*")], expiration: .never,
                                              proofs: [.delegation(toAccount)], now: w.now)
        let attest = try Delegation.delegate(issuer: w.service, audience: w.agent.did,
                                             capabilities: [Capability(can: "ucan/attest", with: w.service.did.string, nb: ["proof": .link(session.cid)])],
                                             expiration: .never, now: w.now)
        let ok = await w.check(try w.invoke(w.agent, proofs: [.delegation(session), .delegation(attest)]))
        let auth = try ok.get()
        #expect(auth.chain.map(\.issuer) == [w.agent.did, w.account, w.space.did])
        // Without the attestation the account's absent signature counts for nothing.
        let missing = await w.check(try w.invoke(w.agent, proofs: [.delegation(session)]))
        #expect(leafNames(missing) == ["SessionEscalation"])
        // An attestation signed by someone else is not the service's.
        let forgedAttest = try Delegation.delegate(issuer: w.other.withDID(w.service.did), audience: w.agent.did,
                                                   capabilities: [Capability(can: "ucan/attest", with: w.service.did.string, nb: ["proof": .link(session.cid)])],
                                                   expiration: .never, now: w.now)
        let forgedResult = leafNames(await w.check(try w.invoke(w.agent, proofs: [.delegation(session), .delegation(forgedAttest)])))
        #expect(forgedResult.contains("SessionEscalation") && forgedResult.contains("InvalidSignature"))
    }

    // MARK: Each rejection

    @Test func forgedSignature() async throws {
        let d = try w.delegate(w.space, to: w.agent.did, can: "upload/list")
        // Same UCAN, signature from another key: the block is valid CBOR but the signature is not the issuer's.
        var ucan = d.ucan
        ucan.signature = try w.other.sign(try ucan.signingInput())
        let forged = try Delegation(root: try ucan.block().cid, blocks: [try ucan.block().cid: try ucan.block()])
        let r = await w.check(try w.invoke(w.agent, proofs: [.delegation(forged)]))
        #expect(leafNames(r) == ["InvalidSignature"])
        guard case .failure(let e) = r, case .invalidSignature(let link, _)? = e.leafCauses.first else { Issue.record("no typed cause"); return }
        #expect(link == forged.cid)
        // A forged invocation is refused too.
        var inv = try w.invoke(w.space).ucan
        inv.signature = try w.other.sign(try inv.signingInput())
        let forgedInvocation = try Delegation(root: try inv.block().cid, blocks: [try inv.block().cid: try inv.block()])
        #expect(leafNames(await w.check(forgedInvocation)) == ["InvalidSignature"])
    }

    @Test func tamperedBlock() async throws {
        // Changing a field after signing (here the capability) breaks the signature.
        let d = try w.delegate(w.space, to: w.agent.did, can: "upload/list")
        var ucan = d.ucan
        ucan.capabilities = [Capability(can: "*", with: w.space.did.string)]
        let tampered = try ucan.block()
        let proof = try Delegation(root: tampered.cid, blocks: [tampered.cid: tampered])
        #expect(leafNames(await w.check(try w.invoke(w.agent, can: "upload/add", nb: ["root": .link(CID.sha256(codec: 0x55, [UInt8]()))], proofs: [.delegation(proof)]))) == ["InvalidSignature"])
    }

    @Test func tamperedBytesInTheRequestAreRefused() async throws {
        // Flip a byte inside the proof block of a request body: the CAR no longer matches its CIDs.
        let d = try w.delegate(w.space, to: w.agent.did, can: "upload/list")
        let body = try AgentMessage.request([try w.invoke(w.agent, proofs: [.delegation(d)])]).encode()
        let range = try #require(body.range(of: d.root.bytes))
        var tampered = body
        tampered[range.lowerBound + 80] ^= 0x01
        #expect(throws: UCANError.self) { try AgentMessage.decode(tampered) }
        #expect(try AgentMessage.decode(body).invocations.count == 1)
    }

    @Test func expiredAndNotYetValid() async throws {
        let expired = try w.delegate(w.space, to: w.agent.did, can: "upload/list", exp: .at(w.now - 1))
        let r1 = await w.check(try w.invoke(w.agent, proofs: [.delegation(expired)]))
        #expect(leafNames(r1) == ["Expired"])
        let early = try w.delegate(w.space, to: w.agent.did, can: "upload/list", nbf: w.now + 3600)
        #expect(leafNames(await w.check(try w.invoke(w.agent, proofs: [.delegation(early)]))) == ["NotValidBefore"])
        // An expired invocation.
        let stale = try Delegation.invoke(issuer: w.space, audience: w.service.did, capability: Capability(can: "upload/list", with: w.space.did.string),
                                          now: w.now - 60)
        #expect(leafNames(await w.check(stale)) == ["Expired"])
    }

    @Test func wrongAudience() async throws {
        let r = await w.check(try w.invoke(w.space, audience: w.other.did))
        guard case .failure(.invalidAudience(_, let expected, let actual)) = r else { Issue.record("expected InvalidAudience"); return }
        #expect(expected == w.service.did && actual == w.other.did)
    }

    @Test func brokenChain() async throws {
        // The proof is addressed to someone else.
        let d = try w.delegate(w.space, to: w.other.did, can: "upload/list")
        #expect(leafNames(await w.check(try w.invoke(w.agent, proofs: [.delegation(d)]))) == ["PrincipalAlignmentError"])
        // The proof is only linked, not included.
        let linked = try w.delegate(w.space, to: w.agent.did, can: "upload/list")
        #expect(leafNames(await w.check(try w.invoke(w.agent, proofs: [.link(linked.cid)]))) == ["UnavailableProof"])
        // No proof at all for someone else's space.
        #expect(leafNames(await w.check(try w.invoke(w.agent))) == ["InvalidClaim"])
    }

    @Test func capabilityAndCaveatWiderThanProof() async throws {
        let listOnly = try w.delegate(w.space, to: w.agent.did, can: "upload/list")
        #expect(leafNames(await w.check(try w.invoke(w.agent, can: "upload/remove", nb: ["root": .link(CID.sha256(codec: 0x55, [UInt8]()))],
                                                     proofs: [.delegation(listOnly)]))) == ["InvalidClaim"])
        let root = CID.sha256(codec: 0x55, [UInt8]([1]))
        let otherRoot = CID.sha256(codec: 0x55, [UInt8]([2]))
        let onlyThisRoot = try w.delegate(w.space, to: w.agent.did, can: "upload/remove", nb: ["root": .link(root)])
        #expect((try? await w.check(try w.invoke(w.agent, can: "upload/remove", nb: ["root": .link(root)], proofs: [.delegation(onlyThisRoot)])).get()) != nil)
        let r = await w.check(try w.invoke(w.agent, can: "upload/remove", nb: ["root": .link(otherRoot)], proofs: [.delegation(onlyThisRoot)]))
        #expect(leafNames(r) == ["EscalatedCapability"])
        // A size limit is met by a smaller blob, not a larger one.
        let digest: IPLDValue = .bytes(Multihash.sha256([UInt8]([1])).bytes)
        let limited = try w.delegate(w.space, to: w.agent.did, can: "space/blob/add", nb: ["blob": ["digest": digest, "size": 100]])
        #expect((try? await w.check(try w.invoke(w.agent, can: "space/blob/add", nb: ["blob": ["digest": digest, "size": 50]], proofs: [.delegation(limited)])).get()) != nil)
        #expect(leafNames(await w.check(try w.invoke(w.agent, can: "space/blob/add", nb: ["blob": ["digest": digest, "size": 500]], proofs: [.delegation(limited)]))) == ["EscalatedCapability"])
        // Another resource is not covered.
        let otherSpace = try w.delegate(w.other, to: w.agent.did, can: "upload/list", with: w.other.did.string)
        #expect(leafNames(await w.check(try w.invoke(w.agent, proofs: [.delegation(otherSpace)]))) == ["InvalidClaim"])
    }

    @Test func malformedCapabilityIsRefused() async throws {
        let r = await w.check(try w.invoke(w.space, can: "space/blob/add", nb: ["blob": ["size": "big"]]))
        #expect(leafNames(r) == ["MalformedCapability"])
    }

    @Test func revokedDelegationsStopValidating() async throws {
        let d = try w.delegate(w.space, to: w.agent.did, can: "upload/list")
        let revoked = d.cid
        let validator = Validator(authority: w.service.verifier, isRevoked: { $0 == revoked })
        #expect(leafNames(await w.check(try w.invoke(w.agent, proofs: [.delegation(d)]), validator: validator)) == ["Revoked"])
    }

    @Test func rejectionNamesLinkAndReason() async throws {
        let expired = try w.delegate(w.space, to: w.agent.did, can: "upload/list", exp: .at(w.now - 10))
        guard case .failure(let e) = await w.check(try w.invoke(w.agent, proofs: [.delegation(expired)])) else { Issue.record("expected failure"); return }
        #expect(e.name == "Unauthorized")
        #expect(e.description.contains(expired.cid.description))
        #expect(e.description.contains("expired"))
    }

    @Test func didWebIssuerWithConfiguredKey() async throws {
        // A did:web issuer verifies with a key from the configured DID → key map.
        let web: DID = "did:web:partner.example"
        let partner = w.other.withDID(web)
        let d = try w.delegate(partner, to: w.agent.did, can: "test/echo", with: web.string)
        let validator = Validator(authority: w.service.verifier, didKeys: [web: [w.other.verifier.withDID(web)]])
        let inv = try w.invoke(w.agent, can: "test/echo", with: web.string, proofs: [.delegation(d)])
        #expect((try? await w.check(inv, validator: validator).get()) != nil)
        #expect(leafNames(await w.check(inv)) == ["SessionEscalation"])
    }
}
