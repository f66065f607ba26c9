import Foundation
import IPLD
import LocalService
import StorachaClient
import Multiformats
import Testing
import TestSupport
import UCAN
import Ucanto
import UnixFS

@Suite(.serialized) struct ServiceTests {
    @Test func indexChecks() async throws {
        let world = try await World.start()
        defer { Task { await world.stop() } }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("idx-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let packed = try Packer.pack([ImportFile(name: "a.bin", data: lcg(3000))], into: dir)
        let index = try packed.index.archive()
        let indexCID = CID(codec: CID.Codec.car, multihash: .sha256(index))
        // The index blob itself is not in the space yet.
        let r1 = try await world.invoke("space/index/add", ["index": .link(indexCID)])
        #expect(r1.out.errorName == "IndexNotFound")
        // The index is stored but names a shard the space does not hold.
        try await world.addBlob(index)
        let r2 = try await world.invoke("space/index/add", ["index": .link(indexCID)])
        #expect(r2.out.errorName == "ShardNotFound")
        // With the shard stored it is accepted.
        try await world.addBlob(try Data(contentsOf: packed.shards[0].url))
        let r3 = try await world.invoke("space/index/add", ["index": .link(indexCID)])
        #expect(r3.out.isOK)
        // An index blob that is not an index.
        let junk = Data("not an index".utf8)
        try await world.addBlob(junk)
        let r4 = try await world.invoke("space/index/add", ["index": .link(CID(codec: CID.Codec.car, multihash: .sha256(junk)))])
        #expect(r4.out.errorName == "DecodeFailure")
    }

    @Test func uploadListPaginationAndRemoval() async throws {
        let world = try await World.start()
        defer { Task { await world.stop() } }
        var roots: [CID] = []
        for i in 0..<7 {
            let r = try await world.upload([ImportFile(name: "f\(i).txt", data: Data("file \(i)".utf8))])
            roots.append(r.root)
        }
        var seen: [String] = []
        var cursor: String? = nil
        repeat {
            var nb: [String: IPLDValue] = ["size": 3]
            if let cursor { nb["cursor"] = .string(cursor) }
            let page = try await world.invoke("upload/list", nb)
            let ok = try #require(page.out.okValue)
            for item in ok["results"]?.listValue ?? [] { seen.append(item["root"]?.linkValue?.description ?? "") }
            cursor = ok["cursor"]?.stringValue
        } while cursor != nil
        #expect(seen == roots.map(\.description))
        // Shards of one upload, and get.
        let shards = try await world.invoke("upload/shard/list", ["root": .link(roots[0])])
        #expect(shards.out.okValue?["results"]?.listValue?.count == 1)
        #expect(try await world.invoke("upload/get", ["root": .link(roots[1])]).out.isOK)
        // Removed content is no longer listed nor served.
        let gatewayBefore = try await world.client.request(.GET, "/ipfs/\(roots[2])/f2.txt")
        #expect(gatewayBefore.status == 200 && gatewayBefore.body == Data("file 2".utf8))
        #expect(try await world.invoke("upload/remove", ["root": .link(roots[2])]).out.isOK)
        #expect(try await world.invoke("upload/get", ["root": .link(roots[2])]).out.errorName == "UploadNotFound")
        #expect(try await world.invoke("upload/remove", ["root": .link(roots[2])]).out.errorName == "UploadNotFound")
        let gatewayAfter = try await world.client.request(.GET, "/ipfs/\(roots[2])/f2.txt")
        #expect(gatewayAfter.status == 404)
    }

    @Test func loginThroughTheEmailedLink() async throws {
        var world = try await World.start(autoConfirm: false)
        let running = world
        defer { Task { await running.stop() } }
        let authorize = try Delegation.invoke(issuer: world.agent, audience: world.client.did,
                                              capability: Capability(can: "access/authorize", with: world.agent.did.string,
                                                                     nb: ["iss": .string(world.account.string), "att": [["can": "*"]]]))
        let r = try await world.client.invoke(authorize)
        #expect(r.out.okValue?["request"]?.linkValue == authorize.cid)
        // Nothing to claim until the link is opened.
        #expect(try await world.claim().isEmpty)
        let emails = try FileManager.default.contentsOfDirectory(atPath: world.dataDirectory.appendingPathComponent("emails").path)
        let email = try String(contentsOf: world.dataDirectory.appendingPathComponent("emails/\(try #require(emails.first))"), encoding: .utf8)
        let link = try #require(email.split(separator: "\n").first { $0.contains("/validate-email?ucan=") })
        let page = try await world.client.request(.GET, String(link))
        #expect(page.status == 200)
        let claimed = try await world.claim()
        let session = try #require(claimed.first { $0.issuer == world.account })
        let attest = try #require(claimed.first { $0.capabilities.first?.can == "ucan/attest" })
        #expect(session.capabilities == [Capability(can: "*", with: "ucan:*")])
        #expect(session.facts.first?["access/request"]?.linkValue == authorize.cid)
        #expect(attest.capabilities[0].nb?["proof"]?.linkValue == session.cid)
        #expect(attest.issuer == world.client.did)
        world.session = claimed
        try await world.provision()
        let info = try await world.invoke("space/info")
        #expect(info.out.okValue?["providers"]?.listValue == [.string(world.client.did.string)])
    }

    @Test func provisioningPlansAndUsage() async throws {
        let world = try await World.start(provision: false)
        defer { Task { await world.stop() } }
        // An unprovisioned space cannot store.
        let data = Data("hello usage".utf8)
        let add = try await world.invoke("space/blob/add", ["blob": ["digest": .bytes(Multihash.sha256(data).bytes), "size": .int(data.count)]])
        #expect(add.out.errorName == "InsufficientStorage")
        #expect(try await world.invoke("space/info").out.errorName == "SpaceUnknown")
        try await world.provision()
        let plan = try await world.client.invoke(try Delegation.invoke(issuer: world.agent, audience: world.client.did,
                                                                       capability: Capability(can: "plan/get", with: world.account.string),
                                                                       proofs: world.session.map { .delegation($0) }))
        #expect(plan.out.isOK)
        let subs = try await world.client.invoke(try Delegation.invoke(issuer: world.agent, audience: world.client.did,
                                                                       capability: Capability(can: "subscription/list", with: world.account.string),
                                                                       proofs: world.session.map { .delegation($0) }))
        #expect(subs.out.okValue?["results"]?.listValue?.first?["consumers"] == [.string(world.space.did.string)])
        let before = Clock.now() - 5
        let a = lcg(1000), b = lcg(2345, seed: 9)
        try await world.addBlob(a)
        try await world.addBlob(b)
        let removed = try await world.invoke("space/blob/remove", ["digest": .bytes(Multihash.sha256(a).bytes)])
        #expect(removed.out.okValue?["size"]?.intValue == 1000)
        let report = try await world.invoke("usage/report", ["period": ["from": .int(before), "to": .int(Clock.now() + 5)]])
        let entry = try #require(report.out.okValue?[world.client.did.string])
        #expect(entry["size"]?["initial"]?.intValue == 0)
        #expect(entry["size"]?["final"]?.intValue == 2345)
        #expect(entry["events"]?.listValue?.map { $0["delta"]?.intValue ?? 0 } == [1000, 2345, -1000])
    }

    @Test func refusalsStoreNothing() async throws {
        let world = try await World.start()
        defer { Task { await world.stop() } }
        let data = Data("secret".utf8)
        let nb: [String: IPLDValue] = ["blob": ["digest": .bytes(Multihash.sha256(data).bytes), "size": .int(data.count)]]
        // Signed by the wrong key: the invocation claims the agent but mallory signs.
        var ucan = try world.spaceInvocation("space/blob/add", nb).ucan
        ucan.signature = try Ed25519Signer.generate().sign(try ucan.signingInput())
        let forgedBlock = try ucan.block()
        var blocks = try world.spaceInvocation("space/blob/add", nb).blocks
        blocks[forgedBlock.cid] = forgedBlock
        let forged = try Delegation(root: forgedBlock.cid, blocks: blocks)
        #expect(try await world.client.invoke(forged).out.errorName == "Unauthorized")
        // Expired.
        let expired = try Delegation.invoke(issuer: world.agent, audience: world.client.did,
                                            capability: Capability(can: "space/blob/add", with: world.space.did.string, nb: nb),
                                            proofs: [.delegation(world.spaceProof)], now: Clock.now() - 3600)
        #expect(try await world.client.invoke(expired).out.errorName == "Unauthorized")
        // No proof for the space.
        let stranger = try Delegation.invoke(issuer: world.agent, audience: world.client.did,
                                             capability: Capability(can: "space/blob/add", with: Ed25519Signer.generate().did.string, nb: nb))
        #expect(try await world.client.invoke(stranger).out.errorName == "Unauthorized")
        // Wrong audience.
        let misaddressed = try Delegation.invoke(issuer: world.agent, audience: world.agent.did,
                                                 capability: Capability(can: "space/blob/list", with: world.space.did.string), proofs: [.delegation(world.spaceProof)])
        #expect(try await world.client.invoke(misaddressed).out.errorName == "InvalidAudience")
        let list = try await world.invoke("space/blob/list")
        #expect(list.out.okValue?["size"]?.intValue == 0)
        // Malformed bodies get a 4xx, and the service keeps working.
        let garbage = try await world.client.request(.POST, "/", headers: ["content-type": AgentMessage.contentType, "accept": AgentMessage.contentType],
                                                     body: Data("not a car".utf8))
        #expect(garbage.status == 400)
        let truncated = try AgentMessage.request([try world.spaceInvocation("space/blob/list")]).encode().prefix(100)
        #expect(try await world.client.request(.POST, "/", headers: ["content-type": AgentMessage.contentType], body: truncated).status == 400)
        #expect(try await world.client.request(.POST, "/", headers: ["content-type": "text/plain"], body: Data()).status == 415)
        #expect(try await world.invoke("space/blob/list").out.isOK)
    }

    @Test func revokedDelegationsStopValidating() async throws {
        let world = try await World.start()
        defer { Task { await world.stop() } }
        let helper = Ed25519Signer.generate()
        let sub = try Delegation.delegate(issuer: world.agent, audience: helper.did, capabilities: [Capability(can: "upload/list", with: world.space.did.string)],
                                          expiration: .never, proofs: [.delegation(world.spaceProof)])
        let list = { try Delegation.invoke(issuer: helper, audience: world.client.did, capability: Capability(can: "upload/list", with: world.space.did.string),
                                           nonce: UUID().uuidString, proofs: [.delegation(sub)]) }
        #expect(try await world.client.invoke(try list()).out.isOK)
        let revoke = try Delegation.invoke(issuer: world.agent, audience: world.client.did,
                                           capability: Capability(can: "ucan/revoke", with: world.agent.did.string, nb: ["ucan": .link(sub.cid)]),
                                           proofs: [.delegation(sub)])
        #expect(try await world.client.invoke(revoke).out.isOK)
        let after = try await world.client.invoke(try list())
        #expect(after.out.errorName == "Unauthorized")
        #expect(after.out.errorMessage?.contains("revoked") == true)
    }

    @Test func accessDelegateStoresDelegationsForClaim() async throws {
        let world = try await World.start()
        defer { Task { await world.stop() } }
        // The space delegates to the account (the "recovery" delegation); a later claim by another agent of
        // the same account would find it behind the session.
        let recovery = try Delegation.delegate(issuer: world.space, audience: world.account,
                                               capabilities: [Capability(can: "*", with: world.space.did.string)], expiration: .never)
        let inv = try Delegation.invoke(issuer: world.agent, audience: world.client.did,
                                        capability: Capability(can: "access/delegate", with: world.space.did.string,
                                                               nb: ["delegations": [recovery.cid.description: .link(recovery.cid)]]),
                                        proofs: [.delegation(world.spaceProof), .delegation(recovery)])
        #expect(try await world.client.invoke(inv).out.isOK)
        // A delegation that is not attached is refused.
        let missing = try Delegation.delegate(issuer: world.space, audience: world.account, capabilities: [Capability(can: "upload/list", with: world.space.did.string)],
                                              expiration: .never)
        let bad = try Delegation.invoke(issuer: world.agent, audience: world.client.did,
                                        capability: Capability(can: "access/delegate", with: world.space.did.string,
                                                               nb: ["delegations": [missing.cid.description: .link(missing.cid)]]),
                                        proofs: [.delegation(world.spaceProof)])
        #expect(try await world.client.invoke(bad).out.errorName == "DelegationNotFound")
        // The agent that is already logged in gets a re-issued session reaching the space on its next claim.
        let reclaimed = try await world.claim()
        #expect(reclaimed.first { $0.issuer == world.account }?.proofs.contains { $0.cid == recovery.cid } == true)
        // A new agent logging in to the account receives a session whose proofs include the recovery delegation.
        var other = world.with(agent: Ed25519Signer.generate())
        try await other.login()
        let session = try #require(other.session.first { $0.issuer == world.account })
        #expect(session.proofs.contains { $0.cid == recovery.cid })
        // With that session alone the new agent can use the space.
        let list = try Delegation.invoke(issuer: other.agent, audience: world.client.did, capability: Capability(can: "upload/list", with: world.space.did.string),
                                         proofs: other.session.map { .delegation($0) })
        #expect(try await world.client.invoke(list).out.isOK)
    }

    @Test func filecoinOfferAndInfo() async throws {
        let world = try await World.start()
        defer { Task { await world.stop() } }
        let content = CID.sha256(codec: 0x55, Data("shard".utf8))
        let piece = try CID("bafkzcibcp4bdomn3tgwgrh3g532zopskstnbrd2n3sxfqbze7rxt7vqn7veigmy")
        let offer = try Delegation.invoke(issuer: world.agent, audience: world.client.did,
                                          capability: Capability(can: "filecoin/offer", with: world.agent.did.string, nb: ["content": .link(content), "piece": .link(piece)]))
        #expect(try await world.client.invoke(offer).out.okValue?["piece"]?.linkValue == piece)
        let info = try await world.invoke("filecoin/info", ["piece": .link(piece)])
        #expect(info.out.okValue?["piece"]?.linkValue == piece)
        // When the content is stored here, a piece that is not its piece is refused.
        let stored = lcg(1000, seed: 4)
        try await world.addBlob(stored)
        let wrong = try Delegation.invoke(issuer: world.agent, audience: world.client.did,
                                          capability: Capability(can: "filecoin/offer", with: world.agent.did.string,
                                                                 nb: ["content": .link(CID.sha256(codec: 0x55, stored)), "piece": .link(piece)]))
        #expect(try await world.client.invoke(wrong).out.errorName == "InvalidPiece")
    }
}
