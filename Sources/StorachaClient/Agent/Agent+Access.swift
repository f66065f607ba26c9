import Foundation
import IPLD
import Multiformats
import UCAN

/// Login (`access/authorize`, then `access/claim` until the account confirms) and claimed proofs.
extension Agent {
    /// A login request the account has to confirm.
    public struct LoginRequest: Sendable {
        /// The account asked.
        public let account: DID
        /// The `access/authorize` invocation's CID, which the confirmation cites.
        public let request: CID
        /// When the request expires (seconds since the epoch).
        public let expiration: Int
    }

    /// Validates an email address and returns its `did:mailto` account.
    public static func account(email: String) throws(AgentError) -> DID {
        let parts = email.split(separator: "@", omittingEmptySubsequences: false)
        guard parts.count == 2, !parts[0].isEmpty, parts[1].contains("."), !parts[1].hasPrefix("."), !parts[1].hasSuffix("."),
              !email.contains(where: { $0.isWhitespace || $0 == "/" }), let did = try? DID.mailto(email: email) else {
            throw AgentError(.invalidInput, "\(email) is not an email address")
        }
        return did
    }

    /// `access/authorize`: asks the service to email `account` a link that authorizes this agent.
    public func requestLogin(_ account: DID) async throws -> LoginRequest {
        let ok = try await run("access/authorize", with: did.string, nb: ["iss": .string(account.string), "att": [["can": "*"]]])
        guard case .link(let request)? = ok["request"] else { throw ClientError.protocolViolation("access/authorize returned no request") }
        let expiration = ok["expiration"]?.intValue ?? now() + 15 * 60
        return LoginRequest(account: account, request: request, expiration: expiration)
    }

    /// Polls `access/claim` every `interval` (250 ms, as the JS client) until a claimed delegation cites
    /// `request`, or the request expires (`RequestExpired`). Returns the claimed delegations.
    public func waitForLogin(_ request: LoginRequest, interval: Duration = .milliseconds(250)) async throws -> [Delegation] {
        while now() < request.expiration {
            let claimed = try await claim()
            if claimed.contains(where: { d in d.facts.contains { $0["access/request"]?.linkValue == request.request } }) { return claimed }
            try await Task.sleep(for: interval)
        }
        throw ClientError.failed(capability: "access/claim", name: "RequestExpired", message: "the login link was not confirmed before it expired")
    }

    /// `access/claim`: every delegation the service holds for this agent (nothing is saved).
    public func claim() async throws -> [Delegation] {
        let ok = try await run("access/claim", with: did.string, nonce: UUID().uuidString)
        guard case .map(let map)? = ok["delegations"] else { return [] }
        return map.keys.sorted().compactMap { key in
            guard case .bytes(let b)? = map[key] else { return nil }
            return try? Delegation.extract(Data(b))
        }
    }

    /// Adds claimed delegations as proofs and the spaces they reach (`addProofs` +
    /// `addSpacesFromDelegations` of the JS agent), then saves.
    public mutating func importProofs(_ delegations: [Delegation]) throws {
        let meta = JSONValue.object([("audience", profile.meta)])
        try update { profile in
            for d in delegations { profile.addDelegation(d, meta: meta) }
            for d in delegations {
                if d.capabilities.first?.with == "ucan:*" {
                    for case .delegation(let proof) in d.proofs where proof.capabilities.first?.with.hasPrefix("did:key:") == true {
                        if let space = try? DID(proof.capabilities[0].with) { profile.setSpace(space, meta: Agent.spaceMeta(of: proof)) }
                    }
                } else if let with = d.capabilities.first?.with, with.hasPrefix("did:key:"), let space = try? DID(with) {
                    profile.setSpace(space, meta: Agent.spaceMeta(of: d))
                }
            }
        }
    }

    /// The space metadata a delegation carries (`fct[0].space`, access defaulting to public).
    static func spaceMeta(of delegation: Delegation) -> JSONValue {
        var members: [(String, JSONValue)] = []
        if case .map(let space)? = delegation.facts.first?["space"] {
            for key in space.keys.sorted() where key != "access" {
                if let value = space[key].flatMap(JSONValue.init(ipld:)) { members.append((key, value)) }
            }
            if let name = members.firstIndex(where: { $0.0 == "name" }), name != 0 { members.insert(members.remove(at: name), at: 0) }
            members.append(("access", space["access"].flatMap(JSONValue.init(ipld:)) ?? .object([("type", .string("public"))])))
        } else {
            members.append(("access", .object([("type", .string("public"))])))
        }
        return .object(members)
    }
}

extension JSONValue {
    /// The JSON form of a plain IPLD value (maps, lists, strings, numbers, booleans); `nil` for
    /// bytes and links, which space metadata never holds.
    init?(ipld: IPLDValue) {
        switch ipld {
        case .null: self = .null
        case .bool(let b): self = .bool(b)
        case .string(let s): self = .string(s)
        case .integer(let i):
            guard let v = i.int64 else { return nil }
            self = .integer(v)
        case .float(let d): self = .double(d)
        case .list(let items):
            var out: [JSONValue] = []
            for item in items {
                guard let v = JSONValue(ipld: item) else { return nil }
                out.append(v)
            }
            self = .array(out)
        case .map(let map):
            var out: [(String, JSONValue)] = []
            for key in map.keys.sorted() {
                guard let v = map[key].flatMap(JSONValue.init(ipld:)) else { return nil }
                out.append((key, v))
            }
            self = .object(out)
        default: return nil
        }
    }

    /// The IPLD form (for facts).
    var ipld: IPLDValue {
        switch self {
        case .null: return .null
        case .bool(let b): return .bool(b)
        case .integer(let i): return .integer(IPLDInteger(i))
        case .double(let d): return .float(d)
        case .string(let s): return .string(s)
        case .array(let items): return .list(items.map(\.ipld))
        case .object(let members): return .map(Dictionary(members.map { ($0.0, $0.1.ipld) }, uniquingKeysWith: { $1 }))
        }
    }
}
