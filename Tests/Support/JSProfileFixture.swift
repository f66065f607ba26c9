import Foundation
import IPLD
import Multiformats
import UCAN

/// A profile in the official CLI's format (`flows.md` §6.1), built here from the documented shape
/// with the wire-format test keys: alice is the agent, bob the space, `service` the upload service.
public struct JSProfileFixture {
    public let account: DID = "did:mailto:example.com:alice"
    public let spaceProof: Delegation
    public let session: Delegation
    public let attestation: Delegation
    public let json: String

    public init() throws {
        let now = 1_700_000_000
        let space = Principals.bob
        spaceProof = try Delegation.delegate(
            issuer: space, audience: Principals.alice.did,
            capabilities: ["space/*", "upload/*"].map { Capability(can: $0, with: space.did.string) }, expiration: .never,
            facts: [["space": ["name": "photos", "access": ["type": "public"]]]], now: now)
        let toAccount = try Delegation.delegate(issuer: space, audience: account, capabilities: [Capability(can: "*", with: space.did.string)],
                                                expiration: .never, facts: [["space": ["name": "photos", "access": ["type": "public"]]]], now: now)
        session = try Delegation.delegate(issuer: AbsenteeSigner(did: account), audience: Principals.alice.did,
                                          capabilities: [Capability(can: "*", with: "ucan:*")], expiration: .never,
                                          proofs: [.delegation(toAccount)], now: now)
        attestation = try Delegation.delegate(issuer: Principals.service, audience: Principals.alice.did,
                                              capabilities: [Capability(can: "ucan/attest", with: Principals.service.did.string,
                                                                        nb: ["proof": .link(session.cid)])], expiration: .never, now: now)
        func bytes(_ b: some Collection<UInt8>) -> String { "{\"$bytes\":[" + b.map(String.init).joined(separator: ",") + "]}" }
        func entry(_ d: Delegation, extra: String = "") -> String {
            let blocks = d.export().map { "{\"cid\":\"\($0.cid)\",\"bytes\":\(bytes($0.bytes))}" }.joined(separator: ",")
            return "[\"\(d.cid)\",{\"meta\":{\"audience\":{\"name\":\"agent\",\"type\":\"device\"}},\"delegation\":[\(blocks)]\(extra)}]"
        }
        let alice = Principals.alice.did.string
        json = "{\"meta\":{\"name\":\"agent\",\"type\":\"device\"},"
            + "\"principal\":{\"id\":\"\(alice)\",\"keys\":{\"\(alice)\":\(bytes(Principals.alice.bytes))}},"
            + "\"currentSpace\":\"\(space.did)\","
            + "\"spaces\":{\"$map\":[[\"\(space.did)\",{\"name\":\"photos\",\"access\":{\"type\":\"public\"}}]]},"
            + "\"delegations\":{\"$map\":[\(entry(spaceProof)),\(entry(session, extra: ",\"note\":\"kept\"")),\(entry(attestation))]},"
            + "\"future\":{\"z\":1,\"a\":[true,null,\"é\\n\"]}}"
    }
}

