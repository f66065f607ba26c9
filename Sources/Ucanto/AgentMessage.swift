import Foundation
import CAR
import IPLD
import Multiformats
import UCAN

/// The ucanto agent message (`ucanto/message@7.0.0`) carried as a CAR over HTTP: invocations to
/// execute (requests) and receipts keyed by invocation (responses).
public struct AgentMessage: Sendable {
    /// The envelope key.
    public static let version = "ucanto/message@7.0.0"
    /// Media type of the CAR body.
    public static let contentType = "application/vnd.ipld.car"

    /// Invocations to execute, in order.
    public let invocations: [Delegation]
    /// Receipts by invocation CID string.
    public let receipts: [String: Receipt]
    /// The message block.
    public let root: Block
    /// Blocks in CAR order, the message last.
    public let blocks: [Block]

    /// A request carrying `invocations` (their proofs and attachments included).
    public static func request(_ invocations: [Delegation]) throws(UCANError) -> AgentMessage {
        var body: [String: IPLDValue] = [:]
        if !invocations.isEmpty { body["execute"] = .list(invocations.map { .link($0.cid) }) }
        var blocks: [Block] = []
        var seen = Set<CID>()
        for inv in invocations { for b in inv.export() where seen.insert(b.cid).inserted { blocks.append(b) } }
        return try build(body: body, blocks: blocks, invocations: invocations, receipts: [:])
    }

    /// A response carrying `receipts` (first receipt wins for a repeated invocation).
    public static func response(_ receipts: [Receipt]) throws(UCANError) -> AgentMessage {
        var report: [String: IPLDValue] = [:]
        var byKey: [String: Receipt] = [:]
        var blocks: [Block] = []
        var seen = Set<CID>()
        for r in receipts {
            let key = r.ran.description
            guard byKey[key] == nil else { continue }
            byKey[key] = r
            report[key] = .link(r.cid)
            for b in r.export() where seen.insert(b.cid).inserted { blocks.append(b) }
        }
        return try build(body: ["report": .map(report)], blocks: blocks, invocations: [], receipts: byKey)
    }

    static func build(body: [String: IPLDValue], blocks: [Block], invocations: [Delegation], receipts: [String: Receipt]) throws(UCANError) -> AgentMessage {
        let root: Block
        do { root = try Block(dagCBOR: .map([version: .map(body)])) } catch { throw .invalidMessage("\(error)") }
        return AgentMessage(invocations: invocations, receipts: receipts, root: root, blocks: blocks + [root])
    }

    init(invocations: [Delegation], receipts: [String: Receipt], root: Block, blocks: [Block]) {
        self.invocations = invocations
        self.receipts = receipts
        self.root = root
        self.blocks = blocks
    }

    /// The CAR body.
    public func encode() -> Data { CAREncoder.encode(roots: [root.cid], blocks: blocks) }

    /// Largest block accepted in a message: UCANs, receipts and attachments are small, and the bound
    /// keeps hostile bodies from decoding into huge values.
    public static let maxBlockSize = 4 << 20
    /// Most blocks accepted in one message (real messages carry tens to a few hundred).
    public static let maxBlocks = 10_000
    /// Most invocations accepted in one message.
    public static let maxInvocations = 1_000

    /// Decodes a message CAR (JS or Go variant: `execute` may be absent or empty in responses).
    public static func decode(_ car: Data) throws(UCANError) -> AgentMessage {
        let header: CARHeader
        let list: [Block]
        do { (header, list) = try CARReader.readAll(car, maxBlockSize: maxBlockSize, maxBlocks: maxBlocks) } catch let error as CARError {
            if case .tooManyBlocks(let limit) = error { throw .invalidMessage("the message has more than \(limit) blocks (the limit)") }
            throw .invalidMessage("body is not a valid CAR: \(error)")
        } catch { throw .invalidMessage("body is not a valid CAR: \(error)") }
        guard let rootCID = header.roots.first else { throw .invalidMessage("the CAR has no root") }
        var blocks: [CID: Block] = [:]
        for b in list { blocks[b.cid] = b }
        guard let root = blocks[rootCID] else { throw .invalidMessage("the root block \(rootCID) is missing") }
        let value: IPLDValue
        do { value = try DAGCBOR.decode(root.bytes) } catch { throw .invalidMessage("root is not DAG-CBOR: \(error)") }
        guard case .map(let body)? = value[version] else { throw .invalidMessage("root is not a \(version) message") }
        var invocations: [Delegation] = []
        if case .list(let exec)? = body["execute"] {
            guard exec.count <= maxInvocations else { throw .invalidMessage("the message has more than \(maxInvocations) invocations (the limit)") }
            for item in exec {
                guard case .link(let cid) = item else { throw .invalidMessage("execute entries must be links") }
                invocations.append(try Delegation(root: cid, blocks: blocks))
            }
        } else if body["execute"] != nil {
            throw .invalidMessage("execute must be a list")
        }
        var receipts: [String: Receipt] = [:]
        if case .map(let report)? = body["report"] {
            for (key, item) in report {
                guard case .link(let cid) = item else { throw .invalidMessage("report values must be links") }
                receipts[key] = try Receipt(root: cid, blocks: blocks)
            }
        } else if body["report"] != nil {
            throw .invalidMessage("report must be a map")
        }
        return AgentMessage(invocations: invocations, receipts: receipts, root: root, blocks: list)
    }

    /// The receipt for `invocation`, if the message has one.
    public func receipt(for invocation: CID) -> Receipt? { receipts[invocation.description] }
}
