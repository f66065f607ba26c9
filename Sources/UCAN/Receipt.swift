import Foundation
import IPLD
import Multiformats

/// The result of running an invocation: `{ok: …}` or `{error: …}`.
public enum Outcome: Hashable, Sendable {
    case ok(IPLDValue)
    case error(IPLDValue)

    /// The IPLD form.
    public var ipld: IPLDValue {
        switch self {
        case .ok(let v): return .map(["ok": v])
        case .error(let v): return .map(["error": v])
        }
    }

    /// Reads `{ok}` / `{error}`, deciding by the key.
    public init(ipld: IPLDValue) throws(UCANError) {
        guard case .map(let m) = ipld else { throw .invalidReceipt("\"out\" is not a map") }
        if let ok = m["ok"] { self = .ok(ok) } else if let e = m["error"] { self = .error(e) } else {
            throw .invalidReceipt("\"out\" has neither ok nor error")
        }
    }

    /// A ucanto failure: `{name, message}` plus extra fields.
    public static func failure(name: String, message: String, _ extra: [String: IPLDValue] = [:]) -> Outcome {
        var m = extra
        m["name"] = .string(name)
        m["message"] = .string(message)
        return .error(.map(m))
    }

    /// The `ok` value, if any.
    public var okValue: IPLDValue? { if case .ok(let v) = self { return v } else { return nil } }
    /// `true` for `ok`.
    public var isOK: Bool { if case .ok = self { return true } else { return false } }
    /// The error `name`, if any.
    public var errorName: String? { if case .error(let e) = self { return e["name"]?.stringValue } else { return nil } }
    /// The error `message`, if any.
    public var errorMessage: String? { if case .error(let e) = self { return e["message"]?.stringValue } else { return nil } }
}

/// A signed ucanto receipt: `{ocm: {fx, iss, out, prf, ran, meta}, sig}`.
public struct Receipt: Hashable, Sendable {
    /// The receipt block.
    public let root: Block
    /// The invocation it answers.
    public let ran: CID
    /// Its result.
    public let out: Outcome
    /// Effects: forked tasks.
    public let fork: [CID]
    /// Effects: the joined task.
    public let join: CID?
    /// Free-form metadata.
    public let meta: [String: IPLDValue]
    /// Issuer DID (text in the block).
    public let issuer: DID?
    /// Proofs of the issuer's authority.
    public let proofs: [CID]
    /// `sig` over the DAG-CBOR bytes of `ocm`.
    public let signature: UCANSignature
    /// Every block that travels with the receipt, by CID.
    public let blocks: [CID: Block]

    /// The receipt's CID.
    public var cid: CID { root.cid }

    /// An effect: an invocation with its blocks, or a bare link.
    public typealias Effect = Delegation.Proof

    static func ocm(ran: CID, out: Outcome, fork: [CID], join: CID?, meta: [String: IPLDValue], issuer: DID?, proofs: [CID]) -> IPLDValue {
        var fx: [String: IPLDValue] = ["fork": .list(fork.map { .link($0) })]
        if let join { fx["join"] = .link(join) }
        var m: [String: IPLDValue] = [
            "ran": .link(ran), "out": out.ipld, "fx": .map(fx), "meta": .map(meta), "prf": .list(proofs.map { .link($0) }),
        ]
        if let issuer { m["iss"] = .string(issuer.string) }
        return .map(m)
    }

    /// Issues and signs a receipt.
    public static func issue(issuer: some Signer, ran: Effect, result: Outcome, fork: [Effect] = [], join: Effect? = nil,
                             meta: [String: IPLDValue] = [:], proofs: [Delegation] = []) throws(UCANError) -> Receipt {
        let ocm = ocm(ran: ran.cid, out: result, fork: fork.map(\.cid), join: join?.cid, meta: meta, issuer: issuer.did, proofs: proofs.map(\.cid))
        let ocmBytes: [UInt8]
        do { ocmBytes = try DAGCBOR.encode(ocm) } catch { throw .invalidReceipt("\(error)") }
        let sig = try issuer.sign(ocmBytes)
        let root: Block
        do { root = try Block(dagCBOR: .map(["ocm": ocm, "sig": .bytes(sig.bytes)])) } catch { throw .invalidReceipt("\(error)") }
        var blocks: [CID: Block] = [root.cid: root]
        for effect in [ran] + fork + (join.map { [$0] } ?? []) {
            if case .delegation(let d) = effect { for b in d.export() { blocks[b.cid] = b } }
        }
        for p in proofs { for b in p.export() { blocks[b.cid] = b } }
        return Receipt(root: root, ran: ran.cid, out: result, fork: fork.map(\.cid), join: join?.cid, meta: meta, issuer: issuer.did,
                       proofs: proofs.map(\.cid), signature: sig, blocks: blocks)
    }

    init(root: Block, ran: CID, out: Outcome, fork: [CID], join: CID?, meta: [String: IPLDValue], issuer: DID?, proofs: [CID],
         signature: UCANSignature, blocks: [CID: Block]) {
        self.root = root
        self.ran = ran
        self.out = out
        self.fork = fork
        self.join = join
        self.meta = meta
        self.issuer = issuer
        self.proofs = proofs
        self.signature = signature
        self.blocks = blocks
    }

    /// Views the receipt at `root` within `blocks`.
    public init(root cid: CID, blocks: [CID: Block]) throws(UCANError) {
        guard let block = blocks[cid] else { throw .missingBlock("receipt \(cid)") }
        let value: IPLDValue
        do { value = try DAGCBOR.decode(block.bytes) } catch { throw .invalidReceipt("\(error)") }
        guard case .map(let ocm)? = value["ocm"], case .bytes(let sig)? = value["sig"] else { throw .invalidReceipt("missing ocm or sig") }
        guard case .link(let ran)? = ocm["ran"] else { throw .invalidReceipt("missing ran") }
        guard let out = ocm["out"] else { throw .invalidReceipt("missing out") }
        var fork: [CID] = []
        var join: CID?
        if case .map(let fx)? = ocm["fx"] {
            for f in fx["fork"]?.listValue ?? [] {
                guard case .link(let c) = f else { throw .invalidReceipt("fx.fork entries must be links") }
                fork.append(c)
            }
            join = fx["join"]?.linkValue
        }
        var proofs: [CID] = []
        for p in ocm["prf"]?.listValue ?? [] {
            guard case .link(let c) = p else { throw .invalidReceipt("prf entries must be links") }
            proofs.append(c)
        }
        let issuer: DID?
        if case .string(let s)? = ocm["iss"] { issuer = try DID(s) } else { issuer = nil }
        self.init(root: block, ran: ran, out: try Outcome(ipld: out), fork: fork, join: join, meta: ocm["meta"]?.mapValue ?? [:],
                  issuer: issuer, proofs: proofs, signature: try UCANSignature(bytes: sig), blocks: blocks)
    }

    /// The `ocm` map as stored.
    public var ocm: IPLDValue { Receipt.ocm(ran: ran, out: out, fork: fork, join: join, meta: meta, issuer: issuer, proofs: proofs) }

    /// `true` when `verifier` speaks for the issuer and signed the DAG-CBOR of `ocm`.
    public func verifySignature(_ verifier: some Verifier) -> Bool {
        guard let stored = try? DAGCBOR.decode(root.bytes)["ocm"], let bytes = try? DAGCBOR.encode(stored) else { return false }
        if let issuer, issuer != verifier.did { return false }
        return verifier.verify(bytes, signature: signature)
    }

    /// The invocation this answers, when its blocks are present.
    public var ranInvocation: Delegation? { try? Delegation(root: ran, blocks: blocks) }

    /// Forked effects that are invocations present in the blocks.
    public var forkedInvocations: [Delegation] { fork.compactMap { try? Delegation(root: $0, blocks: blocks) } }

    /// Blocks in ucanto's order: the ran invocation DAG, fork DAGs, join DAG, proof DAGs, the receipt.
    public func export() -> [Block] {
        var out: [Block] = []
        var seen = Set<CID>()
        var expanded = Set<CID>()
        for link in [ran] + fork + (join.map { [$0] } ?? []) + proofs where !expanded.contains(link) {
            if let d = try? Delegation(root: link, blocks: blocks) { d.exportInto(&out, &seen, &expanded) }
        }
        if seen.insert(root.cid).inserted { out.append(root) }
        return out
    }
}

/// A promise of a task's result: `{"ucan/await": [selector, taskLink]}` (e.g. `.out.ok.site`).
public struct UCANAwait: Hashable, Sendable {
    /// The key of the await form.
    public static let key = "ucan/await"

    /// A selector into the awaited receipt, such as `.out.ok` or `.out.ok.address.url`.
    public let selector: String
    /// The awaited task (invocation) CID.
    public let task: CID

    /// Creates an await.
    public init(selector: String, task: CID) {
        self.selector = selector
        self.task = task
    }

    /// The IPLD form.
    public var ipld: IPLDValue { .map([UCANAwait.key: .list([.string(selector), .link(task)])]) }

    /// Reads the IPLD form; `nil` when `value` is not an await.
    public init?(ipld value: IPLDValue) {
        guard case .map(let m) = value, m.count == 1, case .list(let l)? = m[UCANAwait.key], l.count == 2,
              case .string(let selector) = l[0], case .link(let task) = l[1] else { return nil }
        self.init(selector: selector, task: task)
    }

    /// Resolves the selector against a receipt's result (`.out.ok…` / `.out.error…`).
    public func resolve(in receipt: Receipt) -> IPLDValue? {
        var parts = selector.split(separator: ".").map(String.init)
        guard parts.first == "out" else { return nil }
        parts.removeFirst()
        var value: IPLDValue = receipt.out.ipld
        for p in parts {
            guard let next = value[p] else { return nil }
            value = next
        }
        return value
    }
}
