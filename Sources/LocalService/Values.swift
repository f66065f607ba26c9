import CivilTime
import Foundation
import IPLD
import Multiformats
import UCAN

/// A handler failure that becomes `out.error` with a production error name.
struct Failure: Error {
    let name: String
    let message: String
    var extra: [String: IPLDValue] = [:]

    var outcome: Outcome { .failure(name: name, message: message, extra) }
}

/// Typed access to an invocation's caveats, failing with `MalformedCapability`-style errors.
struct Caveats {
    let nb: [String: IPLDValue]
    let can: String

    init(_ capability: Capability) {
        nb = capability.nb ?? [:]
        can = capability.can
    }

    func link(_ key: String) throws -> CID {
        guard case .link(let c)? = nb[key] else { throw Failure(name: "MalformedCapability", message: "\(can): nb.\(key) must be a link") }
        return c
    }

    func optionalLink(_ key: String) throws -> CID? { nb[key] == nil ? nil : try link(key) }

    func string(_ key: String) -> String? { nb[key]?.stringValue }

    func int(_ key: String) -> Int? { nb[key]?.intValue }

    func bool(_ key: String) -> Bool? { if case .bool(let b)? = nb[key] { return b } else { return nil } }

    func digest(_ key: String) throws -> Multihash {
        guard case .bytes(let b)? = nb[key], let mh = try? Multihash(bytes: b) else {
            throw Failure(name: "MalformedCapability", message: "\(can): nb.\(key) must be a multihash")
        }
        return mh
    }

    func blob(_ key: String = "blob") throws -> (digest: Multihash, size: UInt64) {
        guard case .map(let m)? = nb[key], case .bytes(let d)? = m["digest"], let mh = try? Multihash(bytes: d),
              case .integer(let s)? = m["size"], let size = s.uint64 else {
            throw Failure(name: "MalformedCapability", message: "\(can): nb.\(key) must be {digest, size}")
        }
        return (mh, size)
    }
}

/// IPLD value helpers for results.
enum Value {
    static func int(_ v: some BinaryInteger) -> IPLDValue { .integer(IPLDInteger(v)) }

    static func blob(_ digest: Multihash, _ size: UInt64) -> IPLDValue { .map(["digest": .bytes(digest.bytes), "size": int(size)]) }

    /// ISO 8601 with milliseconds, as JavaScript's `Date.toISOString()` writes.
    static func iso(_ seconds: Int) -> IPLDValue {
        .string(UTCDateTime(milliseconds: Int64(seconds) * 1000).iso8601())
    }
}
