import Foundation
import IPLD
import Multiformats
import UCAN

/// The agent's persisted state, in the official JS client's `AgentData` export format (`flows.md`
/// §6.1): its key, its metadata, the spaces it knows, the current space and every delegation it holds.
/// Fields this version does not know are kept and written back unchanged.
public struct AgentProfile: Sendable {
    /// `{name, type}` of the agent (`{"name":"agent","type":"device"}` by default).
    public var meta: JSONValue
    /// The agent's key.
    public var principal: Ed25519Signer
    /// The space used when a command names none.
    public var currentSpace: DID?
    /// Known spaces with their metadata (`{name, access}`), in insertion order.
    public var spaces: [(did: DID, meta: JSONValue)]
    /// Delegations held (proofs for the agent, and delegations it issued), in insertion order.
    public var delegations: [StoredDelegation]
    /// Top-level members this version does not interpret.
    var unknown: [(String, JSONValue)]

    /// A delegation as the profile stores it, with its metadata (`{audience: {name, type}}`).
    public struct StoredDelegation: Sendable {
        /// The delegation and its blocks.
        public var delegation: Delegation
        /// Its metadata.
        public var meta: JSONValue
        /// Members of the entry this version does not interpret.
        var unknown: [(String, JSONValue)] = []

        /// Creates an entry.
        public init(delegation: Delegation, meta: JSONValue) {
            self.delegation = delegation
            self.meta = meta
        }
    }

    /// The default agent metadata.
    public static let defaultMeta: JSONValue = .object([("name", .string("agent")), ("type", .string("device"))])

    /// A fresh profile for `principal`.
    public init(principal: Ed25519Signer, meta: JSONValue = AgentProfile.defaultMeta) {
        self.meta = meta
        self.principal = principal
        self.currentSpace = nil
        self.spaces = []
        self.delegations = []
        self.unknown = []
    }

    /// The metadata of `space`.
    public func spaceMeta(_ space: DID) -> JSONValue? { spaces.last { $0.did == space }?.meta }

    /// The name of `space` (empty when it has none).
    public func spaceName(_ space: DID) -> String { spaceMeta(space)?["name"]?.stringValue ?? "" }

    /// Adds or replaces a space's metadata (keeping its position).
    public mutating func setSpace(_ space: DID, meta: JSONValue) {
        if let i = spaces.firstIndex(where: { $0.did == space }) { spaces[i].meta = meta } else { spaces.append((space, meta)) }
    }

    /// Adds or replaces a delegation (keyed by CID, keeping its position).
    public mutating func addDelegation(_ delegation: Delegation, meta: JSONValue) {
        if let i = delegations.firstIndex(where: { $0.delegation.cid == delegation.cid }) {
            delegations[i].delegation = delegation
            delegations[i].meta = meta
        } else {
            delegations.append(StoredDelegation(delegation: delegation, meta: meta))
        }
    }

    /// Drops delegations that have expired at `now`.
    public mutating func pruneExpired(now: Int) {
        delegations.removeAll { $0.delegation.ucan.isExpired(now: now) }
    }

    // MARK: Encoding

    /// Reads the profile file's JSON.
    public init(json data: Data) throws(ProfileError) {
        let root: JSONValue
        do { root = try JSONValue.parse(data) } catch { throw ProfileError("the profile is not JSON: \(error)") }
        guard let members = root.members else { throw ProfileError("the profile is not a JSON object") }
        guard let principalValue = root["principal"] else { throw ProfileError("the profile has no principal") }
        principal = try AgentProfile.decodePrincipal(principalValue)
        meta = root["meta"] ?? AgentProfile.defaultMeta
        if let current = root["currentSpace"]?.stringValue {
            guard let did = try? DID(current) else { throw ProfileError("currentSpace is not a DID: \(current)") }
            currentSpace = did
        } else {
            currentSpace = nil
        }
        spaces = []
        for (key, value) in try AgentProfile.map(root["spaces"], "spaces") {
            guard let k = key.stringValue, let did = try? DID(k) else { throw ProfileError("a space key is not a DID") }
            spaces.append((did, value))
        }
        delegations = []
        for (key, value) in try AgentProfile.map(root["delegations"], "delegations") {
            guard let cid = key.stringValue else { throw ProfileError("a delegation key is not a string") }
            delegations.append(try AgentProfile.decodeDelegation(cid: cid, value))
        }
        let known: Set<String> = ["meta", "principal", "currentSpace", "spaces", "delegations"]
        unknown = members.filter { !known.contains($0.0) }
    }

    /// The profile file's JSON, member order as the JS client writes it.
    public func json() -> Data {
        var members: [(String, JSONValue)] = [("meta", meta), ("principal", AgentProfile.encodePrincipal(principal))]
        if let currentSpace { members.append(("currentSpace", .string(currentSpace.string))) }
        members.append(("spaces", AgentProfile.tagged(map: spaces.map { (.string($0.did.string), $0.meta) })))
        members.append(("delegations", AgentProfile.tagged(map: delegations.map { entry in
            let blocks: [JSONValue] = entry.delegation.export().map { block in
                .object([("cid", .string(block.cid.description)), ("bytes", AgentProfile.tagged(bytes: [UInt8](block.bytes)))])
            }
            return (.string(entry.delegation.cid.description), .object([("meta", entry.meta), ("delegation", .array(blocks))] + entry.unknown))
        })))
        return Data(JSONValue.object(members + unknown).serialized().utf8)
    }

    static func tagged(bytes: [UInt8]) -> JSONValue { .object([("$bytes", .array(bytes.map { .integer(Int64($0)) }))]) }

    static func tagged(map entries: [(JSONValue, JSONValue)]) -> JSONValue {
        .object([("$map", .array(entries.map { .array([$0.0, $0.1]) }))])
    }

    static func bytes(_ value: JSONValue?, _ what: String) throws(ProfileError) -> [UInt8] {
        guard case .array(let items)? = value?["$bytes"] else { throw ProfileError("\(what) is not {\"$bytes\": […]}") }
        var out: [UInt8] = []
        out.reserveCapacity(items.count)
        for item in items {
            guard case .integer(let n) = item, (0...255).contains(n) else { throw ProfileError("\(what) holds a value that is not a byte") }
            out.append(UInt8(n))
        }
        return out
    }

    static func map(_ value: JSONValue?, _ what: String) throws(ProfileError) -> [(JSONValue, JSONValue)] {
        guard let value else { return [] }
        guard case .array(let entries)? = value["$map"] else { throw ProfileError("\(what) is not {\"$map\": […]}") }
        var out: [(JSONValue, JSONValue)] = []
        for entry in entries {
            guard case .array(let pair) = entry, pair.count == 2 else { throw ProfileError("\(what) holds an entry that is not a [key, value] pair") }
            out.append((pair[0], pair[1]))
        }
        return out
    }

    static func encodePrincipal(_ signer: Ed25519Signer) -> JSONValue {
        .object([("id", .string(signer.did.string)), ("keys", .object([(signer.did.string, tagged(bytes: signer.bytes))]))])
    }

    static func decodePrincipal(_ value: JSONValue) throws(ProfileError) -> Ed25519Signer {
        guard let id = value["id"]?.stringValue, let keys = value["keys"]?.members, let key = keys.first(where: { $0.0 == id }) ?? keys.first else {
            throw ProfileError("the principal is not {id, keys}")
        }
        let signer: Ed25519Signer
        do { signer = try Ed25519Signer(bytes: try bytes(key.1, "the principal key")) } catch let e as ProfileError { throw e } catch {
            throw ProfileError("the principal key is not an Ed25519 key: \(error)")
        }
        guard signer.did.string == id else { throw ProfileError("the principal key does not belong to \(id)") }
        return signer
    }

    static func decodeDelegation(cid: String, _ value: JSONValue) throws(ProfileError) -> StoredDelegation {
        guard case .array(let items)? = value["delegation"] else { throw ProfileError("delegation \(cid) has no blocks") }
        var blocks: [CID: Block] = [:]
        var last: CID?
        for item in items {
            guard let text = item["cid"]?.stringValue, let parsed = try? CID(text) else {
                throw ProfileError("delegation \(cid) holds a block without a CID")
            }
            let data = try bytes(item["bytes"], "a block of delegation \(cid)")
            let block = Block(cid: parsed, bytes: Data(data))
            guard block.isValid else { throw ProfileError("a block of delegation \(cid) does not match its CID") }
            blocks[parsed] = block
            last = parsed
        }
        let root = (try? CID(cid)).flatMap { blocks[$0] != nil ? $0 : nil } ?? last
        guard let root else { throw ProfileError("delegation \(cid) has no blocks") }
        let delegation: Delegation
        do { delegation = try Delegation(root: root, blocks: blocks) } catch { throw ProfileError("delegation \(cid) cannot be read: \(error)") }
        var entry = StoredDelegation(delegation: delegation, meta: value["meta"] ?? .object([]))
        entry.unknown = (value.members ?? []).filter { $0.0 != "meta" && $0.0 != "delegation" }
        return entry
    }
}

/// A profile that cannot be read or written, and why.
public struct ProfileError: Error, CustomStringConvertible, Sendable {
    /// What is wrong.
    public let description: String
    init(_ description: String) { self.description = description }
}
