import Foundation
import Multiformats

/// A decentralized identifier: `did:key:z…`, `did:web:…`, `did:mailto:…` or any other method.
public struct DID: Hashable, Sendable, Comparable, CustomStringConvertible, ExpressibleByStringLiteral {
    /// The full DID string.
    public let string: String

    /// Multicodec tag dag-ucan uses for non-key DIDs inside UCAN blocks (0x0d1d).
    public static let didCoreCode: UInt64 = 0x0d1d

    /// Parses a DID; it must start with `did:` and have a method and an identifier.
    public init(_ string: String) throws(UCANError) {
        let parts = string.split(separator: ":", maxSplits: 2, omittingEmptySubsequences: false)
        guard parts.count == 3, parts[0] == "did", !parts[1].isEmpty, !parts[2].isEmpty else { throw .invalidDID(string) }
        self.string = string
    }

    /// A literal DID; invalid literals are a programming error caught in tests.
    public init(stringLiteral value: String) {
        self.string = value
    }

    /// The method (`key`, `web`, `mailto`, …).
    public var method: Substring { string.split(separator: ":", maxSplits: 2).dropFirst().first ?? "" }

    /// `true` for `did:key:`.
    public var isKey: Bool { string.hasPrefix("did:key:") }

    public var description: String { string }

    public static func < (lhs: DID, rhs: DID) -> Bool { lhs.string < rhs.string }

    /// The principal bytes carried in `iss`/`aud`: the multicodec key bytes for `did:key`,
    /// otherwise `varint(0x0d1d) ‖ UTF-8(did without "did:")`.
    public var bytes: [UInt8] {
        if isKey, let decoded = try? Multibase.decode(String(string.dropFirst(8))), decoded.base == .base58btc {
            return decoded.bytes
        }
        return Varint.encode(DID.didCoreCode) + Array(string.dropFirst(4).utf8)
    }

    static let keyCodes: Set<UInt64> = [0xed, 0x1205, 0x1200, 0x1201, 0x1202, 0xe7, 0xea, 0xeb]

    /// Decodes principal bytes from a UCAN block.
    public init(bytes: [UInt8]) throws(UCANError) {
        let code: UInt64
        let n: Int
        do { (code, n) = try Varint.decode(bytes, at: 0) } catch { throw .invalidPrincipal("principal bytes: \(error)") }
        if code == DID.didCoreCode {
            let rest = bytes[n...]
            let text = String(decoding: rest, as: UTF8.self)
            guard text.utf8.elementsEqual(rest) else { throw .invalidPrincipal("principal is not UTF-8") }
            try self.init("did:" + text)
        } else if DID.keyCodes.contains(code) {
            self.init(stringLiteral: "did:key:" + Multibase.base58btc.encode(bytes))
        } else {
            throw .invalidPrincipal("unsupported principal multicodec 0x\(String(code, radix: 16))")
        }
    }

    /// The did:mailto of an email address: `did:mailto:<domain>:<percent-encoded local part>`.
    public static func mailto(email: String) throws(UCANError) -> DID {
        guard let at = email.lastIndex(of: "@"), at != email.startIndex, email.index(after: at) != email.endIndex else {
            throw .invalidDID("not an email address: \(email)")
        }
        let local = email[..<at]
        let domain = email[email.index(after: at)...]
        return try DID("did:mailto:\(encodeURIComponent(domain)):\(encodeURIComponent(local))")
    }

    /// The email address of a did:mailto.
    public var email: String? {
        guard string.hasPrefix("did:mailto:") else { return nil }
        let parts = string.dropFirst(11).split(separator: ":", maxSplits: 1)
        guard parts.count == 2, let local = String(parts[1]).removingPercentEncoding,
              let domain = String(parts[0]).removingPercentEncoding else { return nil }
        return "\(local)@\(domain)"
    }

    /// JavaScript `encodeURIComponent`.
    static func encodeURIComponent(_ s: some StringProtocol) -> String {
        var allowed = CharacterSet.alphanumerics.intersection(CharacterSet(charactersIn: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"))
        allowed.insert(charactersIn: "-_.!~*'()")
        return String(s).addingPercentEncoding(withAllowedCharacters: allowed) ?? String(s)
    }
}
