import IPLD

/// One capability of a UCAN: an ability (`can`) on a resource (`with`) with optional caveats (`nb`).
public struct Capability: Hashable, Sendable, CustomStringConvertible {
    /// The ability, e.g. `space/blob/add`, `upload/*` or `*`.
    public var can: String
    /// The resource URI, e.g. a space `did:key:…` or `ucan:*`.
    public var with: String
    /// Caveats; `nil` when absent (the JS client omits an empty `nb`).
    public var nb: [String: IPLDValue]?
    /// Any other keys found on the capability, kept as they were.
    public var extra: [String: IPLDValue]

    /// Creates a capability; an empty `nb` is dropped as the JS client does.
    public init(can: String, with: String, nb: [String: IPLDValue]? = nil) {
        self.can = can
        self.with = with
        self.nb = (nb?.isEmpty ?? true) ? nil : nb
        self.extra = [:]
    }

    /// Caveat lookup.
    public subscript(caveat key: String) -> IPLDValue? { nb?[key] }

    /// The IPLD map form.
    public var ipld: IPLDValue {
        var map = extra
        map["can"] = .string(can)
        map["with"] = .string(with)
        if let nb { map["nb"] = .map(nb) }
        return .map(map)
    }

    /// Parses the IPLD map form.
    public init(ipld: IPLDValue) throws(UCANError) {
        guard case .map(var map) = ipld else { throw .invalidCapability("capability is not a map") }
        guard case .string(let can)? = map.removeValue(forKey: "can") else { throw .invalidCapability("missing \"can\"") }
        guard case .string(let with)? = map.removeValue(forKey: "with") else { throw .invalidCapability("missing \"with\"") }
        guard can == "*" || can.contains("/") else { throw .invalidCapability("ability \"\(can)\" must be * or contain /") }
        guard with.contains(":") else { throw .invalidCapability("resource \"\(with)\" is not a URI") }
        self.can = can.contains("/") ? can.lowercased() : can
        self.with = with
        switch map.removeValue(forKey: "nb") {
        case nil: self.nb = nil
        case .map(let nb)?: self.nb = nb
        default: throw .invalidCapability("\"nb\" must be a map")
        }
        self.extra = map
    }

    public var description: String {
        let caveats = (try? nb.map { try DAGJSON.encodeString(.map($0)) }) ?? nil
        return "{can: \(can), with: \(with)\(caveats.map { ", nb: \($0)" } ?? "")}"
    }
}
