import Foundation
import IPLD
import Multiformats
import CAR

/// A UCAN together with the blocks it travels with: its proofs (recursively) and attached blocks.
/// An invocation is a delegation with exactly one capability, addressed to a service.
public struct Delegation: Hashable, Sendable {
    /// The UCAN block.
    public let root: Block
    /// The decoded UCAN.
    public let ucan: UCAN
    /// Every block available to this delegation (proof chains, attachments), by CID, the root included.
    public let blocks: [CID: Block]

    /// The UCAN's CID.
    public var cid: CID { root.cid }
    /// Issuer DID.
    public var issuer: DID { ucan.issuer }
    /// Audience DID.
    public var audience: DID { ucan.audience }
    /// Capabilities.
    public var capabilities: [Capability] { ucan.capabilities }
    /// Expiration (`nil` = never).
    public var expiration: Int? { ucan.expiration }
    /// Facts.
    public var facts: [[String: IPLDValue]] { ucan.facts }

    /// A proof: either a delegation whose blocks are present or just a link to one.
    public enum Proof: Hashable, Sendable {
        case delegation(Delegation)
        case link(CID)

        /// The proof's CID.
        public var cid: CID {
            switch self {
            case .delegation(let d): return d.cid
            case .link(let c): return c
            }
        }
    }

    /// Views the UCAN at `root` within `blocks`.
    public init(root: CID, blocks: [CID: Block]) throws(UCANError) {
        guard let block = blocks[root] else { throw .missingBlock("delegation \(root) is not among the blocks") }
        self.root = block
        self.ucan = try UCAN(block: block)
        self.blocks = blocks
    }

    init(root: Block, ucan: UCAN, blocks: [CID: Block]) {
        self.root = root
        self.ucan = ucan
        self.blocks = blocks
    }

    /// The proofs, resolved against the available blocks (a block that fails to decode stays a link).
    public var proofs: [Proof] {
        ucan.proofs.map { cid in
            guard blocks[cid] != nil, let d = try? Delegation(root: cid, blocks: blocks) else { return .link(cid) }
            return .delegation(d)
        }
    }

    /// Links found in capabilities (recursively) and facts (links that are facts or direct values of
    /// a fact): the blocks that may be attached, in discovery order.
    public var attachedLinks: [CID] {
        var out: [CID] = []
        var seen = Set<CID>()
        func add(_ c: CID) { if seen.insert(c).inserted { out.append(c) } }
        func walk(_ v: IPLDValue) {
            switch v {
            case .link(let c): add(c)
            case .list(let l): l.forEach(walk)
            case .map(let m): for k in m.keys.sorted(by: { DAGCBOR.canonicalKeyOrder(Array($0.utf8), Array($1.utf8)) }) { walk(m[k] ?? .null) }
            default: break
            }
        }
        for c in ucan.capabilities { walk(c.ipld) }
        for f in ucan.facts {
            for k in f.keys.sorted(by: { DAGCBOR.canonicalKeyOrder(Array($0.utf8), Array($1.utf8)) }) {
                if case .link(let c)? = f[k] { add(c) }
            }
        }
        return out
    }

    /// The blocks to send with this delegation, in ucanto's export order: each present proof's DAG
    /// (post-order), then attached blocks, then the root. Duplicates are removed, first wins.
    ///
    /// Each proof is expanded once: a proof cited from many places costs one visit, so the work is
    /// linear in the number of distinct blocks (the order is the same as expanding every citation).
    public func export() -> [Block] {
        var out: [Block] = []
        var seen = Set<CID>()
        var expanded = Set<CID>()
        exportInto(&out, &seen, &expanded)
        return out
    }

    func exportInto(_ out: inout [Block], _ seen: inout Set<CID>, _ expanded: inout Set<CID>) {
        guard expanded.insert(root.cid).inserted else { return }
        for cid in ucan.proofs where !expanded.contains(cid) && blocks[cid] != nil {
            if let d = try? Delegation(root: cid, blocks: blocks) { d.exportInto(&out, &seen, &expanded) }
        }
        for link in attachedLinks {
            if let b = blocks[link], seen.insert(link).inserted { out.append(b) }
        }
        if seen.insert(root.cid).inserted { out.append(root) }
    }

    // MARK: Building

    /// Issues and signs a delegation (or invocation).
    /// - Parameters:
    ///   - expiration: seconds since the epoch; `.never` writes `exp: null`; the default is now + 30 s as in the JS client.
    ///   - proofs: delegations (their blocks travel along) or bare links.
    ///   - attachments: extra blocks; only blocks linked from capabilities or facts are kept, as ucanto requires.
    public static func delegate(issuer: some Signer, audience: DID, capabilities: [Capability], expiration: Expiration = .default,
                                notBefore: Int? = nil, nonce: String? = nil, facts: [[String: IPLDValue]] = [],
                                proofs: [Proof] = [], attachments: [Block] = [], now: Int = Clock.now()) throws(UCANError) -> Delegation {
        let exp = expiration.value(now: now)
        let ucan = try UCAN.issue(issuer: issuer, audience: audience, capabilities: capabilities, expiration: exp, notBefore: notBefore,
                                  nonce: nonce, facts: facts, proofs: proofs.map(\.cid))
        let root = try ucan.block()
        var blocks: [CID: Block] = [:]
        for proof in proofs {
            if case .delegation(let d) = proof { for b in d.export() { blocks[b.cid] = b } }
        }
        let view = Delegation(root: root, ucan: ucan, blocks: [root.cid: root])
        let attachable = Set(view.attachedLinks)
        for b in attachments {
            guard attachable.contains(b.cid) else {
                throw .invalidUCAN("attached block \(b.cid) is not linked from the capabilities or facts")
            }
            blocks[b.cid] = b
        }
        blocks[root.cid] = root
        return Delegation(root: root, ucan: ucan, blocks: blocks)
    }

    /// Issues an invocation: one capability, addressed to the service.
    public static func invoke(issuer: some Signer, audience: DID, capability: Capability, expiration: Expiration = .default,
                              notBefore: Int? = nil, nonce: String? = nil, facts: [[String: IPLDValue]] = [],
                              proofs: [Proof] = [], attachments: [Block] = [], now: Int = Clock.now()) throws(UCANError) -> Delegation {
        try delegate(issuer: issuer, audience: audience, capabilities: [capability], expiration: expiration, notBefore: notBefore,
                     nonce: nonce, facts: facts, proofs: proofs, attachments: attachments, now: now)
    }

    // MARK: Archives

    /// Key of the archive variant block.
    public static let archiveVersion = "ucan@0.9.1"

    /// `delegation.archive()`: a CAR whose root is `{"ucan@0.9.1": CID}`, holding the export then the variant.
    public func archive() throws(UCANError) -> Data {
        let variant: Block
        do { variant = try Block(dagCBOR: .map([Delegation.archiveVersion: .link(cid)])) } catch { throw .invalidArchive("\(error)") }
        return CAREncoder.encode(roots: [variant.cid], blocks: export() + [variant])
    }

    /// Reads a delegation archive; falls back to a legacy plain CAR whose last block is the delegation.
    public static func extract(_ car: Data) throws(UCANError) -> Delegation {
        let header: CARHeader
        let list: [Block]
        do { (header, list) = try CARReader.readAll(car) } catch { throw .invalidArchive("not a CAR: \(error)") }
        var blocks: [CID: Block] = [:]
        for b in list { blocks[b.cid] = b }
        if let rootCID = header.roots.first, let rootBlock = blocks[rootCID], rootCID.codec == DAGCBOR.code,
           case .map(let m)? = try? DAGCBOR.decode(rootBlock.bytes), m.count == 1, case .link(let target)? = m[archiveVersion] {
            return try Delegation(root: target, blocks: blocks)
        }
        guard let last = list.last else { throw .invalidArchive("the CAR holds no blocks") }
        return try Delegation(root: last.cid, blocks: blocks)
    }

    /// The CLI string form (`storacha delegation create --base64`): base64 (`m…`) of
    /// `CIDv1(CAR 0x0202, identity(archive))`.
    public func formatString() throws(UCANError) -> String {
        CID(codec: CID.Codec.car, multihash: .identity([UInt8](try archive()))).string(base: .base64)
    }

    /// Parses a proof string: an identity CID of an archive, or base64 of a (legacy) CAR.
    public static func parse(string text: String) throws(UCANError) -> Delegation {
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        if let cid = try? CID(trimmed) {
            guard cid.codec == CID.Codec.car else { throw .invalidArchive("the CID's codec is 0x\(String(cid.codec, radix: 16)), not CAR (0x202)") }
            guard cid.multihash.code == Multihash.identityCode else { throw .invalidArchive("the CID does not embed its bytes (identity multihash)") }
            return try extract(Data(cid.multihash.digest))
        }
        do { return try extract(Data(try Base64.decodeLenient(Substring(trimmed)))) } catch {
            throw .invalidArchive("not a delegation string (expected mAYIEA… or base64 of a CAR)")
        }
    }
}

/// When a UCAN expires.
public enum Expiration: Hashable, Sendable {
    /// `now + 30` seconds (the JS default).
    case `default`
    /// Never (`exp: null`).
    case never
    /// At this time (seconds since the epoch).
    case at(Int)
    /// `now + seconds`.
    case after(Int)

    /// The `exp` value for `now`.
    public func value(now: Int) -> Int? {
        switch self {
        case .default: return now + 30
        case .never: return nil
        case .at(let t): return t
        case .after(let s): return now + s
        }
    }
}

/// Wall-clock seconds.
public enum Clock {
    /// Seconds since the epoch, rounded down.
    public static func now() -> Int { Int(Date().timeIntervalSince1970) }
}
