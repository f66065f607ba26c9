import CAR
import Foundation
import GRDB
import IPLD
import Multiformats
import Piece
import SystemIO
import UCAN
import Ucanto

extension UploadService {
    /// How long a login link stays valid.
    static let authorizationLifetime = 15 * 60

    /// A delegation as the CAR bytes `access/claim` returns (roots: the delegation, blocks: its export).
    static func bytes(of delegation: Delegation) -> Data {
        CAREncoder.encode(roots: [delegation.cid], blocks: delegation.export())
    }

    /// Reads delegation CAR bytes back.
    static func delegation(from car: Data) throws -> Delegation {
        let (header, list) = try CARReader.readAll(car)
        var blocks: [CID: Block] = [:]
        for b in list { blocks[b.cid] = b }
        guard let root = header.roots.first ?? list.last?.cid else { throw UCANError.invalidArchive("empty delegation CAR") }
        return try Delegation(root: root, blocks: blocks)
    }

    func saveDelegations(_ delegations: [Delegation], now: Int) async throws {
        let rows = delegations.map { ($0.cid.description, $0.issuer.string, $0.audience.string, UploadService.bytes(of: $0), $0.expiration) }
        try await store.write { db in
            for r in rows {
                try db.execute(sql: "INSERT OR IGNORE INTO delegations (cid, issuer, audience, car, expiration, insertedAt) VALUES (?, ?, ?, ?, ?, ?)",
                               arguments: [r.0, r.1, r.2, r.3, r.4, now])
            }
        }
    }

    func delegations(audience: String, now: Int) async throws -> [Delegation] {
        let cars = try await store.read { db in
            try Data.fetchAll(db, sql: "SELECT car FROM delegations WHERE audience = ? AND (expiration IS NULL OR expiration > ?) ORDER BY insertedAt",
                              arguments: [audience, now])
        }
        return cars.compactMap { try? UploadService.delegation(from: $0) }
    }

    /// `access/authorize`: records the request and "emails" the account a confirmation link.
    func authorize(_ r: Request) async throws -> HandlerResult {
        let agent = try DID(r.with)
        guard let accountText = r.nb.string("iss"), let account = try? DID(accountText), account.method == "mailto" else {
            throw Failure(name: "MalformedCapability", message: "access/authorize: nb.iss must be a did:mailto account")
        }
        guard case .list(let att)? = r.capability.nb?["att"], !att.isEmpty else {
            throw Failure(name: "MalformedCapability", message: "access/authorize: nb.att must list abilities")
        }
        let expiration = r.now + UploadService.authorizationLifetime
        let confirm = try Delegation.delegate(issuer: identity.signer, audience: identity.did,
                                              capabilities: [Capability(can: "access/confirm", with: identity.did.string, nb: [
                                                  "cause": .link(r.invocation.cid), "iss": .string(account.string), "aud": .string(agent.string), "att": .list(att),
                                              ])],
                                              expiration: .at(expiration), now: r.now)
        let request = r.invocation.cid.description
        let now = r.now
        try await store.write { db in
            try db.execute(sql: "INSERT OR REPLACE INTO authorizations (request, agent, account, expiration, confirmed, insertedAt) VALUES (?, ?, ?, ?, 0, ?)",
                           arguments: [request, agent.string, account.string, expiration, now])
        }
        let archive = try confirm.archive()
        let link = "\(baseURL)/validate-email?ucan=\(Base64URL.encode(archive))&mode=authorize"
        sendEmail(to: account, subject: "Verify your email address", body: "Click the link below to log in the agent \(agent):\n\n\(link)\n\nThe link expires in 15 minutes.")
        if configuration.autoConfirm { _ = try await confirmAuthorization(confirm, now: r.now) }
        return HandlerResult(.ok(["request": .link(r.invocation.cid), "expiration": Value.int(expiration)]))
    }

    /// The `access/confirm` step, run when the emailed link is opened: issues the account → agent
    /// delegation (absent signature) and the service's `ucan/attest` for it.
    public func confirmAuthorization(_ confirm: Delegation, now: Int = Clock.now()) async throws -> [Delegation] {
        guard confirm.issuer == identity.did, confirm.ucan.verifySignature(identity.verifier),
              let cap = confirm.capabilities.first, cap.can == "access/confirm", cap.with == identity.did.string else {
            throw Failure(name: "InvalidConfirmation", message: "the link was not issued by this service")
        }
        guard !confirm.ucan.isExpired(now: now) else { throw Failure(name: "RequestExpired", message: "the login link has expired") }
        let nb = Caveats(cap)
        let cause = try nb.link("cause")
        guard let account = nb.string("iss").flatMap({ try? DID($0) }), let agent = nb.string("aud").flatMap({ try? DID($0) }),
              case .list(let att)? = cap.nb?["att"] else { throw Failure(name: "InvalidConfirmation", message: "malformed access/confirm") }
        let facts: [[String: IPLDValue]] = [["access/request": .link(cause), "access/confirm": .link(confirm.cid)]]
        let abilities = att.compactMap { $0["can"]?.stringValue }
        let pair = try await sessionProofs(account: account, agent: agent, capabilities: abilities.map { Capability(can: $0, with: "ucan:*") },
                                           facts: facts, now: now)
        try await saveDelegations(pair, now: now)
        let request = cause.description
        try await store.write { db in try db.execute(sql: "UPDATE authorizations SET confirmed = 1 WHERE request = ?", arguments: [request]) }
        return pair
    }

    /// The account → agent delegation (absent signature), with every delegation the account holds as
    /// proofs, and the service's `ucan/attest` for it.
    func sessionProofs(account: DID, agent: DID, capabilities: [Capability], facts: [[String: IPLDValue]], now: Int) async throws -> [Delegation] {
        let proofs = try await delegations(audience: account.string, now: now)
        let session = try Delegation.delegate(issuer: AbsenteeSigner(did: account), audience: agent, capabilities: capabilities,
                                              expiration: .never, facts: facts, proofs: proofs.map { .delegation($0) }, now: now)
        let attestation = try Delegation.delegate(issuer: identity.signer, audience: agent,
                                                  capabilities: [Capability(can: "ucan/attest", with: identity.did.string, nb: ["proof": .link(session.cid)])],
                                                  expiration: .never, facts: facts, now: now)
        return [session, attestation]
    }

    /// `access/claim`: the delegations addressed to the agent, as CAR bytes by CID. Attested account
    /// sessions are re-issued with the account's current delegations as proofs, so the agent reaches
    /// every space delegated to the account since it logged in.
    func claim(_ r: Request) async throws -> HandlerResult {
        let found = try await delegations(audience: r.with, now: r.now)
        var byCID: [CID: Delegation] = [:]
        for d in found { byCID[d.cid] = d }
        for d in found {
            guard let cap = d.capabilities.first(where: { $0.can == "ucan/attest" }), cap.with == identity.did.string,
                  d.ucan.verifySignature(identity.verifier), !d.ucan.isExpired(now: r.now), !d.ucan.isTooEarly(now: r.now),
                  let attested = cap[caveat: "proof"]?.linkValue.flatMap({ byCID[$0] }),
                  attested.capabilities.contains(where: { $0.with == "ucan:*" }), attested.issuer.method == "mailto" else { continue }
            let fresh = try await sessionProofs(account: attested.issuer, agent: attested.audience, capabilities: attested.capabilities,
                                                facts: attested.facts, now: r.now)
            byCID[d.cid] = nil
            byCID[attested.cid] = nil
            for p in fresh { byCID[p.cid] = p }
        }
        var map: [String: IPLDValue] = [:]
        for d in byCID.values { map[d.cid.description] = .bytes([UInt8](UploadService.bytes(of: d))) }
        return HandlerResult(.ok(["delegations": .map(map)]))
    }

    /// `access/delegate`: stores delegations (attached as proofs) so that later claims return them.
    func delegate(_ r: Request) async throws -> HandlerResult {
        guard case .map(let entries)? = r.capability.nb?["delegations"] else {
            throw Failure(name: "MalformedCapability", message: "access/delegate: nb.delegations must map CIDs to links")
        }
        var found: [Delegation] = []
        for (_, value) in entries.sorted(by: { $0.key < $1.key }) {
            guard case .link(let cid) = value, let d = try? Delegation(root: cid, blocks: r.invocation.blocks) else {
                throw Failure(name: "DelegationNotFound", message: "delegation \(value) is not included with the invocation")
            }
            found.append(d)
        }
        // As the gateway (freeway) the service takes content-serve authorizations for any space; as the
        // upload service it stores delegations only for provisioned spaces (`InsufficientStorage`).
        let gatewayAuthorization = !found.isEmpty && found.allSatisfy { d in
            d.audience == identity.did && d.capabilities.allSatisfy { $0.can.hasPrefix("space/content/serve/") }
        }
        if r.with.hasPrefix("did:key:") && !gatewayAuthorization { try await requireProvisioned(r.with) }
        try await saveDelegations(found, now: r.now)
        return HandlerResult(.ok([:]))
    }

    /// `ucan/revoke`: the issuer of a delegation (or of a proof in its chain) revokes it.
    func revoke(_ r: Request) async throws -> HandlerResult {
        let target = try r.nb.link("ucan")
        if let d = try? Delegation(root: target, blocks: r.invocation.blocks) {
            var chain = [d]
            var issuers = Set<DID>()
            while let next = chain.popLast() {
                issuers.insert(next.issuer)
                for case .delegation(let p) in next.proofs { chain.append(p) }
            }
            guard issuers.contains(r.invocation.issuer) || r.with == d.issuer.string else {
                throw Failure(name: "UnauthorizedRevocation", message: "\(r.invocation.issuer) did not issue \(target) or any of its proofs")
            }
        }
        let key = target.description
        let scope = r.with
        let cause = r.invocation.cid.description
        let now = r.now
        try await store.write { db in
            try db.execute(sql: "INSERT OR IGNORE INTO revocations (cid, scope, cause, insertedAt) VALUES (?, ?, ?, ?)", arguments: [key, scope, cause, now])
        }
        return HandlerResult(.ok(["time": Value.int(r.now)]))
    }

    // MARK: Accounts, provisioning, usage

    /// The plan every local account has.
    static let localPlan = "did:web:local.storacha.network:plan:unlimited"

    /// `provider/add`: provisions a space for an account.
    func providerAdd(_ r: Request) async throws -> HandlerResult {
        let account = r.with
        guard let provider = r.nb.string("provider"), provider == identity.did.string else {
            throw Failure(name: "InvalidProvider", message: "this service provisions with provider \(identity.did)")
        }
        guard let consumer = r.nb.string("consumer"), consumer.hasPrefix("did:key:") else {
            throw Failure(name: "MalformedCapability", message: "provider/add: nb.consumer must be a space did:key")
        }
        let now = r.now
        let existing = try await store.write { db -> String? in
            if let customer = try String.fetchOne(db, sql: "SELECT customer FROM providers WHERE space = ?", arguments: [consumer]) { return customer }
            try db.execute(sql: "INSERT INTO providers (space, provider, customer, insertedAt) VALUES (?, ?, ?, ?)", arguments: [consumer, provider, account, now])
            return nil
        }
        if let existing, existing != account {
            throw Failure(name: "SpaceAlreadyProvisioned", message: "\(consumer) is already provisioned by another account")
        }
        return HandlerResult(.ok([:]))
    }

    /// `plan/get`: local accounts always have the unlimited plan.
    func planGet(_ r: Request) async throws -> HandlerResult {
        HandlerResult(.ok(["product": .string(UploadService.localPlan), "updatedAt": Value.iso(0), "limit": Value.int(0)]))
    }

    /// `subscription/list`
    func subscriptionList(_ r: Request) async throws -> HandlerResult {
        let account = r.with
        let spaces = try await store.read { db in try String.fetchAll(db, sql: "SELECT space FROM providers WHERE customer = ? ORDER BY insertedAt", arguments: [account]) }
        let provider = identity.did.string
        return HandlerResult(.ok(["results": .list(spaces.map { ["subscription": .string($0), "provider": .string(provider), "consumers": [.string($0)]] })]))
    }

    /// `space/info`
    func spaceInfo(_ r: Request) async throws -> HandlerResult {
        guard try await isProvisioned(r.with) else { throw Failure(name: "SpaceUnknown", message: "space \(r.with) is not provisioned") }
        return HandlerResult(.ok(["did": .string(r.with), "providers": [.string(identity.did.string)]]))
    }

    /// `usage/report`: bytes stored at the start and end of the period, with the events between.
    func usageReport(_ r: Request) async throws -> HandlerResult {
        guard case .map(let period)? = r.capability.nb?["period"], let from = period["from"]?.intValue, let to = period["to"]?.intValue, from <= to else {
            throw Failure(name: "MalformedCapability", message: "usage/report: nb.period must be {from, to} in seconds")
        }
        let space = r.with
        let (initial, events) = try await store.read { db -> (Int64, [Record]) in
            let initial = try Int64.fetchOne(db, sql: "SELECT COALESCE(SUM(delta), 0) FROM usage WHERE space = ? AND receiptAt < ?", arguments: [space, from]) ?? 0
            let events = try Row.fetchAll(db, sql: "SELECT delta, cause, receiptAt FROM usage WHERE space = ? AND receiptAt >= ? AND receiptAt <= ? ORDER BY rowid",
                                          arguments: [space, from, to]).map(Record.init)
            return (initial, events)
        }
        let final = initial + events.reduce(0) { $0 + ($1.int("delta")) }
        let provider = identity.did.string
        let report: IPLDValue = [
            "provider": .string(provider), "space": .string(space),
            "period": ["from": Value.iso(from), "to": Value.iso(to)],
            "size": ["initial": Value.int(initial), "final": Value.int(final)],
            "events": .list(try events.map { ["cause": .link(try CID($0.text("cause"))), "delta": Value.int($0.int("delta")), "receiptAt": Value.iso($0.time("receiptAt"))] }),
        ]
        return HandlerResult(.ok([provider: report]))
    }

    /// `filecoin/offer`: accepted and answered with the piece.
    func filecoinOffer(_ r: Request) async throws -> HandlerResult {
        let content = try r.nb.link("content")
        let piece = try r.nb.link("piece")
        // Stricter than production (which checks pieces later, in the deal pipeline): when the content's
        // bytes are here, the offered piece must be theirs, so that a client computing it wrongly fails at once.
        if configuration.verifyPieces, blobs.size(of: content.multihash) != nil {
            let url = blobs.url(for: content.multihash)
            let actual = try await BlockingIO.run { try Piece.computed(fromFileAt: url) }
            guard actual.cid == piece else {
                throw Failure(name: "InvalidPiece", message: "piece \(piece) is not the piece of \(content) (\(actual.cid))")
            }
        }
        let c = content.description
        let p = piece.description
        let now = r.now
        try await store.write { db in
            try db.execute(sql: "INSERT OR REPLACE INTO pieces (content, piece, insertedAt) VALUES (?, ?, ?)", arguments: [c, p, now])
        }
        return HandlerResult(.ok(["piece": .link(piece)]))
    }

    /// `filecoin/info`: known pieces, with no aggregates or deals locally.
    func filecoinInfo(_ r: Request) async throws -> HandlerResult {
        let piece = try r.nb.link("piece")
        let p = piece.description
        let known = try await store.read { db in try Bool.fetchOne(db, sql: "SELECT 1 FROM pieces WHERE piece = ?", arguments: [p]) ?? false }
        guard known else { throw Failure(name: "PieceNotFound", message: "piece \(piece) was never offered") }
        return HandlerResult(.ok(["piece": .link(piece), "aggregates": [], "deals": []]))
    }
}
