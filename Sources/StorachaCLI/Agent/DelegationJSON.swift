import Foundation
import IPLD
import Multiformats
import StorachaClient
import UCAN

/// Delegations printed as the JS CLI prints them: ucanto's `toJSON` (`{"/": cid, v, iss, aud, att,
/// exp, fct, prf, s}`, values in DAG-JSON form, proofs nested) and a relative expiry.
enum DelegationJSON {
    static func line(_ d: Delegation) -> String { value(d, depth: 0) }

    static func value(_ d: Delegation, depth: Int) -> String {
        let u = d.ucan
        var members: [(String, String)] = [("/", quoted(d.cid.description)), ("v", quoted(u.version)), ("iss", quoted(u.issuer.string)),
                                           ("aud", quoted(u.audience.string))]
        let att = u.capabilities.map { c -> String in
            var parts = ["\"with\":\(quoted(c.with))", "\"can\":\(quoted(c.can))"]
            if let nb = c.nb, !nb.isEmpty { parts.append("\"nb\":\(json(.map(nb)))") }
            return "{" + parts.joined(separator: ",") + "}"
        }
        members.append(("att", "[" + att.joined(separator: ",") + "]"))
        members.append(("exp", u.expiration.map(String.init) ?? "null"))
        if let nbf = u.notBefore { members.append(("nbf", String(nbf))) }
        if let nonce = u.nonce { members.append(("nnc", quoted(nonce))) }
        if !u.facts.isEmpty { members.append(("fct", "[" + u.facts.map { json(.map($0)) }.joined(separator: ",") + "]")) }
        let proofs = d.proofs.map { proof -> String in
            if case .delegation(let p) = proof, depth < 32 { return value(p, depth: depth + 1) }
            return "{\"/\":\(quoted(proof.cid.description))}"
        }
        members.append(("prf", "[" + proofs.joined(separator: ",") + "]"))
        members.append(("s", "{\"/\":{\"bytes\":\(quoted(Multibase.base64.encodeBare(u.signature.bytes)))}}"))
        return "{" + members.map { "\(quoted($0.0)):\($0.1)" }.joined(separator: ",") + "}"
    }

    static func quoted(_ s: some StringProtocol) -> String { JSONValue.string(String(s)).serialized() }

    /// DAG-JSON of a value (links `{"/": cid}`, bytes `{"/": {"bytes": …}}`).
    static func json(_ value: IPLDValue) -> String { (try? DAGJSON.encodeString(value)) ?? "null" }

    /// "in 11 months", "3 days ago" (the `s-ago` wording the JS CLI uses).
    static func ago(_ timestamp: Int, now: Int) -> String {
        let delta = timestamp - now
        let seconds = abs(delta)
        let units: [(Int, String)] = [(31_536_000, "year"), (2_592_000, "month"), (604_800, "week"), (86_400, "day"), (3600, "hour"), (60, "minute")]
        guard let (size, name) = units.first(where: { seconds >= $0.0 }) else { return delta >= 0 ? "in a moment" : "just now" }
        let n = seconds / size
        let phrase = n == 1 ? (name == "hour" ? "an hour" : "a \(name)") : "\(n) \(name)s"
        return delta >= 0 ? "in \(phrase)" : "\(phrase) ago"
    }
}
