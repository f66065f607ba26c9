import Foundation
import Testing
import IPLD
import Multiformats
import TestSupport
import UCAN
@testable import Ucanto

/// Levels of delegations where each delegation at one level cites both at the next: 2^levels paths
/// through 2 × levels distinct delegations. The last level is issued by `root`.
func diamond(levels: Int, root: some Signer, with resource: String,
             can: String = "upload/list") throws -> (agent: Ed25519Signer, proofs: [Delegation]) {
    let principals = (0..<levels).map { _ in Ed25519Signer.generate() }
    var level: [Delegation] = []
    for i in stride(from: levels, to: 0, by: -1) {
        let issuer: any Signer = i == levels ? root : principals[i]
        level = try (0..<2).map { n in
            try Delegation.delegate(issuer: issuer, audience: principals[i - 1].did, capabilities: [Capability(can: can, with: resource)],
                                    expiration: .never, nonce: "\(i)-\(n)", proofs: level.map { .delegation($0) })
        }
    }
    return (principals[0], level)
}

/// The ucanto export order, expanding every citation again (what export did before it remembered
/// expanded proofs): the reference for the linear export.
func naiveExport(_ d: Delegation) -> [Block] {
    var out: [Block] = []
    var seen = Set<CID>()
    func visit(_ d: Delegation) {
        for case .delegation(let p) in d.proofs { visit(p) }
        for link in d.attachedLinks { if let b = d.blocks[link], seen.insert(link).inserted { out.append(b) } }
        if seen.insert(d.cid).inserted { out.append(d.root) }
    }
    visit(d)
    return out
}

@Suite struct DiamondTests {
    let world = World()

    @Test func linearExportKeepsTheOrder() throws {
        let (agent, proofs) = try diamond(levels: 8, root: world.space, with: world.space.did.string)
        let invocation = try world.invoke(agent, proofs: proofs.map { .delegation($0) })
        #expect(invocation.export().map(\.cid) == naiveExport(invocation).map(\.cid))
        #expect(invocation.export().count == 17)
    }

    @Test func diamondsAreValidatedOnce() async throws {
        // Too deep: refused with the limit named, at once.
        let (deepAgent, deep) = try diamond(levels: 60, root: world.other, with: world.space.did.string)
        let tooDeep = try world.invoke(deepAgent, proofs: deep.map { .delegation($0) })
        var t0 = Date()
        let refused = await world.validator.access(tooDeep, now: world.now)
        #expect(Date().timeIntervalSince(t0) < 10, "a refusal by depth must not walk 2^32 paths")
        guard case .failure(.limitExceeded(_, let limit)) = refused else { Issue.record("\(refused)"); return }
        #expect(limit.contains("\(Validator.maxProofDepth)"))
        // Within the limit, a failing diamond (the root issuer does not own the space) is searched once.
        let (agent, proofs) = try diamond(levels: 30, root: world.other, with: world.space.did.string)
        let failing = try world.invoke(agent, proofs: proofs.map { .delegation($0) })
        t0 = Date()
        let result = await world.validator.access(failing, now: world.now)
        #expect(Date().timeIntervalSince(t0) < 10, "2^30 paths would take hours")
        guard case .failure(let error) = result else { Issue.record("a diamond rooted in the wrong issuer is refused"); return }
        #expect(error.name == "Unauthorized")
        #expect(error.description.count < 100_000, "the error is linear too")
        // And one rooted in the space owner is accepted.
        let (owner, good) = try diamond(levels: 30, root: world.space, with: world.space.did.string)
        let accepted = await world.validator.access(try world.invoke(owner, proofs: good.map { .delegation($0) }), now: world.now)
        guard case .success(let auth) = accepted else { Issue.record("\(accepted)"); return }
        #expect(auth.chain.count == 31)
    }
}
