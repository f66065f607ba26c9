import IPLD
import Multiformats
import UCAN

/// The type of one caveat (`nb`) field.
public enum CaveatType: String, Sendable, Hashable {
    case link, bytes, int, string, bool, map, list, did, any
    /// A multihash in bytes (a blob digest).
    case digest
    /// `{digest: bytes, size: int}`.
    case blob

    func accepts(_ v: IPLDValue) -> Bool {
        switch (self, v) {
        case (.any, _): return true
        case (.link, .link), (.bytes, .bytes), (.string, .string), (.bool, .bool), (.map, .map), (.list, .list): return true
        case (.int, .integer(let i)): return !i.isNegative
        case (.did, .string(let s)): return (try? DID(s)) != nil
        case (.digest, .bytes(let b)): return (try? Multihash(bytes: b)) != nil
        case (.blob, .map(let m)):
            guard case .bytes(let d)? = m["digest"], (try? Multihash(bytes: d)) != nil, case .integer(let s)? = m["size"], !s.isNegative else { return false }
            return true
        default: return false
        }
    }
}

/// What a capability's `with` must be.
public enum ResourceRule: Sendable, Hashable {
    /// Any DID.
    case did
    /// A `did:key` (spaces, agents).
    case didKey
    /// A `did:mailto` (accounts).
    case didMailto
    /// Any URI.
    case uri

    func accepts(_ with: String) -> Bool {
        switch self {
        case .did: return (try? DID(with)) != nil
        case .didKey: return with.hasPrefix("did:key:")
        case .didMailto: return with.hasPrefix("did:mailto:")
        case .uri: return with.contains(":")
        }
    }
}

/// A typed definition of one capability: ability, resource, caveat schema, result and error shapes,
/// and how a delegated capability may be narrowed. Shared by the client (to build invocations) and
/// the service (to validate them).
public struct CapabilityDefinition: Sendable, Hashable {
    /// The ability.
    public let can: String
    /// What `with` must be.
    public let resource: ResourceRule
    /// Caveat fields: name → (type, required).
    public let caveats: [String: Caveat]
    /// Field names of the `ok` result.
    public let okFields: [String]
    /// Error names the handler may return.
    public let errors: [String]

    /// One caveat field.
    public struct Caveat: Sendable, Hashable {
        /// The type.
        public let type: CaveatType
        /// Whether it must be present.
        public let required: Bool
    }

    /// Defines a capability.
    public init(_ can: String, resource: ResourceRule, caveats: [String: (CaveatType, Bool)] = [:], ok: [String] = [], errors: [String] = []) {
        self.can = can
        self.resource = resource
        self.caveats = caveats.mapValues { Caveat(type: $0.0, required: $0.1) }
        self.okFields = ok
        self.errors = errors
    }

    /// Checks a capability against the schema; returns why it is malformed.
    public func malformation(_ capability: Capability) -> String? {
        guard capability.can == can else { return "ability \(capability.can) is not \(can)" }
        guard resource.accepts(capability.with) else { return "\(can): resource \(capability.with) is not a valid \(resource)" }
        let nb = capability.nb ?? [:]
        for (name, field) in caveats {
            guard let value = nb[name] else {
                if field.required { return "\(can): missing caveat nb.\(name)" }
                continue
            }
            guard field.type.accepts(value) else { return "\(can): caveat nb.\(name) must be \(field.type.rawValue)" }
        }
        return nil
    }

    /// Builds a capability (client side), checking it against the schema.
    public func callAsFunction(with resource: String, nb: [String: IPLDValue] = [:]) throws(UCANError) -> Capability {
        let cap = Capability(can: can, with: resource, nb: nb)
        if let why = malformation(cap) { throw .invalidCapability(why) }
        return cap
    }
}

/// Ability and caveat attenuation rules, as @ucanto/validator applies them.
public enum Attenuation {
    /// `pattern` covers `ability`: equal, `*`, or `ns/*` over `ns/…`.
    public static func abilityMatches(_ pattern: String, _ ability: String) -> Bool {
        if pattern == ability || pattern == "*" { return true }
        if pattern.hasSuffix("/*") { return ability.hasPrefix(pattern.dropLast()) }
        return false
    }

    /// Why `claimed` caveats are wider than `delegated` ones, or `nil` when they are within them.
    /// Every caveat the delegation sets must be matched; a `size` limit may be met by a smaller size.
    public static func caveatEscalation(claimed: [String: IPLDValue], delegated: [String: IPLDValue]) -> String? {
        for (key, limit) in delegated.sorted(by: { $0.key < $1.key }) {
            guard let value = claimed[key] else { return "nb.\(key) is constrained to \(show(limit)) but unset" }
            if !within(value, limit, key: key) { return "nb.\(key): \(show(value)) violates imposed \(show(limit))" }
        }
        return nil
    }

    static func within(_ value: IPLDValue, _ limit: IPLDValue, key: String) -> Bool {
        if value == limit { return true }
        switch (value, limit) {
        case (.integer(let v), .integer(let l)) where key == "size" || key == "limit":
            if let a = v.int64, let b = l.int64 { return a <= b }
            return false
        case (.map(let v), .map(let l)):
            return l.allSatisfy { k, lv in v[k].map { within($0, lv, key: k) } ?? false }
        default: return false
        }
    }

    static func show(_ v: IPLDValue) -> String { (try? DAGJSON.encodeString(v)) ?? "\(v)" }
}
