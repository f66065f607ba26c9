import Foundation
import IPLD
import Multiformats

/// A UCAN 0.9.1 in its IPLD (DAG-CBOR) representation, as `@ipld/dag-ucan` encodes it, or read
/// from its JWT representation.
public struct UCAN: Hashable, Sendable {
    /// The only version this library issues.
    public static let currentVersion = "0.9.1"

    /// `v`.
    public var version: String
    /// `iss`.
    public var issuer: DID
    /// `aud`.
    public var audience: DID
    /// `att`.
    public var capabilities: [Capability]
    /// `exp` in seconds since the epoch; `nil` is `null` (never expires).
    public var expiration: Int?
    /// `nbf`; `nil` or 0 when absent.
    public var notBefore: Int?
    /// `nnc`; `nil` when absent.
    public var nonce: String?
    /// `fct`.
    public var facts: [[String: IPLDValue]]
    /// `prf`: links to proof UCANs.
    public var proofs: [CID]
    /// `s`.
    public var signature: UCANSignature
    /// For a UCAN read from its JWT form: the exact `header.payload` that was signed.
    public var jwtSigningInput: [UInt8]?

    /// Creates a UCAN from its fields (see ``issue(issuer:audience:capabilities:expiration:notBefore:nonce:facts:proofs:)`` to sign one).
    public init(version: String = UCAN.currentVersion, issuer: DID, audience: DID, capabilities: [Capability], expiration: Int?,
                notBefore: Int? = nil, nonce: String? = nil, facts: [[String: IPLDValue]] = [], proofs: [CID] = [],
                signature: UCANSignature, jwtSigningInput: [UInt8]? = nil) {
        self.version = version
        self.issuer = issuer
        self.audience = audience
        self.capabilities = capabilities
        self.expiration = expiration
        self.notBefore = notBefore
        self.nonce = nonce
        self.facts = facts
        self.proofs = proofs
        self.signature = signature
        self.jwtSigningInput = jwtSigningInput
    }

    // MARK: Signing

    /// The JWT-style bytes that are signed: `base64url(header) "." base64url(payload)`.
    public static func signingInput(algorithm: String, version: String, issuer: DID, audience: DID, capabilities: [Capability],
                                    expiration: Int?, notBefore: Int?, nonce: String?, facts: [[String: IPLDValue]], proofs: [CID]) throws(UCANError) -> [UInt8] {
        let header: IPLDValue = ["alg": .string(algorithm), "typ": "JWT", "ucv": .string(version)]
        var payload: [String: IPLDValue] = [
            "iss": .string(issuer.string),
            "aud": .string(audience.string),
            "att": .list(capabilities.map(\.ipld)),
            "exp": expiration.map { .int($0) } ?? .null,
            "prf": .list(proofs.map { .string($0.description) }),
        ]
        if !facts.isEmpty { payload["fct"] = .list(facts.map { .map($0) }) }
        if let nonce, !nonce.isEmpty { payload["nnc"] = .string(nonce) }
        if let notBefore, notBefore != 0 { payload["nbf"] = .int(notBefore) }
        do {
            let h = Base64URL.encode(try DAGJSON.encode(header))
            let p = Base64URL.encode(try DAGJSON.encode(.map(payload)))
            return Array((h + "." + p).utf8)
        } catch {
            throw .invalidUCAN("cannot format the signature payload: \(error)")
        }
    }

    /// The bytes this UCAN's signature covers.
    public func signingInput() throws(UCANError) -> [UInt8] {
        if let jwtSigningInput { return jwtSigningInput }
        return try UCAN.signingInput(algorithm: signature.algorithm, version: version, issuer: issuer, audience: audience,
                                     capabilities: capabilities, expiration: expiration, notBefore: notBefore, nonce: nonce,
                                     facts: facts, proofs: proofs)
    }

    /// Builds and signs a UCAN.
    public static func issue(issuer: some Signer, audience: DID, capabilities: [Capability], expiration: Int?,
                             notBefore: Int? = nil, nonce: String? = nil, facts: [[String: IPLDValue]] = [], proofs: [CID] = []) throws(UCANError) -> UCAN {
        let input = try signingInput(algorithm: issuer.signatureAlgorithm, version: currentVersion, issuer: issuer.did, audience: audience,
                                     capabilities: capabilities, expiration: expiration, notBefore: notBefore, nonce: nonce,
                                     facts: facts, proofs: proofs)
        let signature = try issuer.sign(input)
        return UCAN(version: currentVersion, issuer: issuer.did, audience: audience, capabilities: capabilities, expiration: expiration,
                    notBefore: notBefore, nonce: nonce, facts: facts, proofs: proofs, signature: signature, jwtSigningInput: nil)
    }

    /// `true` when `verifier` speaks for the issuer and the signature is valid.
    public func verifySignature(_ verifier: some Verifier) -> Bool {
        guard verifier.did == issuer, let input = try? signingInput() else { return false }
        return verifier.verify(input, signature: signature)
    }

    /// Expired when `exp <= now`.
    public func isExpired(now: Int) -> Bool { expiration.map { $0 <= now } ?? false }
    /// Too early when `nbf` is set and `now <= nbf`.
    public func isTooEarly(now: Int) -> Bool { notBefore.map { $0 != 0 && now <= $0 } ?? false }

    // MARK: IPLD form

    /// The DAG-CBOR data model of the block.
    public var ipld: IPLDValue {
        var map: [String: IPLDValue] = [
            "v": .string(version),
            "s": .bytes(signature.bytes),
            "iss": .bytes(issuer.bytes),
            "aud": .bytes(audience.bytes),
            "att": .list(capabilities.map(\.ipld)),
            "exp": expiration.map { .int($0) } ?? .null,
            "prf": .list(proofs.map { .link($0) }),
        ]
        if !facts.isEmpty { map["fct"] = .list(facts.map { .map($0) }) }
        if let notBefore, notBefore != 0 { map["nbf"] = .int(notBefore) }
        if let nonce { map["nnc"] = .string(nonce) }
        return .map(map)
    }

    /// The UCAN as a block: DAG-CBOR, or the raw JWT bytes for a JWT-form UCAN.
    public func block() throws(UCANError) -> Block {
        if let jwt = jwtString { return Block(codec: CID.Codec.raw, bytes: Data(jwt.utf8)) }
        do { return try Block(dagCBOR: ipld) } catch { throw .invalidUCAN("\(error)") }
    }

    /// Decodes a UCAN block (DAG-CBOR, or raw JWT bytes).
    public init(block: Block) throws(UCANError) {
        switch block.cid.codec {
        case CID.Codec.raw: try self.init(jwt: String(decoding: block.bytes, as: UTF8.self))
        case CID.Codec.dagCBOR:
            let value: IPLDValue
            do { value = try DAGCBOR.decode(block.bytes) } catch { throw .invalidUCAN("\(error)") }
            try self.init(ipld: value)
        default: throw .invalidUCAN("unsupported UCAN codec 0x\(String(block.cid.codec, radix: 16))")
        }
    }

    /// Reads the DAG-CBOR data model (accepting the JS and Go variants).
    public init(ipld: IPLDValue) throws(UCANError) {
        guard case .map(let m) = ipld else { throw .invalidUCAN("not a map") }
        guard case .string(let v)? = m["v"], v.split(separator: ".").count == 3 else { throw .invalidUCAN("missing or bad version \"v\"") }
        guard case .bytes(let s)? = m["s"] else { throw .invalidUCAN("missing signature \"s\"") }
        guard case .bytes(let iss)? = m["iss"] else { throw .invalidUCAN("missing issuer \"iss\"") }
        guard case .bytes(let aud)? = m["aud"] else { throw .invalidUCAN("missing audience \"aud\"") }
        guard case .list(let att)? = m["att"] else { throw .invalidUCAN("missing capabilities \"att\"") }
        self.version = v
        self.signature = try UCANSignature(bytes: s)
        self.issuer = try DID(bytes: iss)
        self.audience = try DID(bytes: aud)
        self.capabilities = try att.map { c throws(UCANError) in try Capability(ipld: c) }
        switch m["exp"] {
        case .null?, nil: self.expiration = nil
        case .integer(let i)?:
            guard let e = i.int else { throw .invalidUCAN("\"exp\" out of range") }
            self.expiration = e
        default: throw .invalidUCAN("\"exp\" must be an integer or null")
        }
        switch m["nbf"] {
        case nil, .null?: self.notBefore = nil
        case .integer(let i)?:
            guard let n = i.int else { throw .invalidUCAN("\"nbf\" out of range") }
            self.notBefore = n
        default: throw .invalidUCAN("\"nbf\" must be an integer")
        }
        switch m["nnc"] {
        case nil, .null?: self.nonce = nil
        case .string(let n)?: self.nonce = n
        default: throw .invalidUCAN("\"nnc\" must be a string")
        }
        switch m["fct"] {
        case nil, .null?: self.facts = []
        case .list(let l)?:
            self.facts = try l.map { f throws(UCANError) in
                guard case .map(let fm) = f else { throw .invalidUCAN("each fact must be a map") }
                return fm
            }
        default: throw .invalidUCAN("\"fct\" must be a list")
        }
        switch m["prf"] {
        case nil, .null?: self.proofs = []
        case .list(let l)?:
            self.proofs = try l.map { p throws(UCANError) in
                guard case .link(let c) = p else { throw .invalidUCAN("each proof must be a link") }
                return c
            }
        default: throw .invalidUCAN("\"prf\" must be a list")
        }
        self.jwtSigningInput = nil
    }

    // MARK: JWT form

    /// The JWT string, for a UCAN read from one.
    public var jwtString: String? {
        guard let input = jwtSigningInput else { return nil }
        return String(decoding: input, as: UTF8.self) + "." + Base64URL.encode(signature.raw)
    }

    /// Reads a JWT-form UCAN (`header.payload.signature`).
    public init(jwt: String) throws(UCANError) {
        let parts = jwt.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3 else { throw .invalidUCAN("a JWT has three dot-separated parts") }
        let header: IPLDValue
        let payload: IPLDValue
        let raw: [UInt8]
        do {
            header = try DAGJSON.decode(try Base64URL.decode(parts[0]))
            payload = try DAGJSON.decode(try Base64URL.decode(parts[1]))
            raw = try Base64URL.decode(parts[2])
        } catch { throw .invalidUCAN("malformed JWT: \(error)") }
        guard case .string(let alg)? = header["alg"] else { throw .invalidUCAN("JWT header has no alg") }
        let version = header["ucv"]?.stringValue ?? "0.9.1"
        guard case .string(let iss)? = payload["iss"], case .string(let aud)? = payload["aud"],
              case .list(let att)? = payload["att"] else { throw .invalidUCAN("JWT payload lacks iss, aud or att") }
        self.version = version
        self.issuer = try DID(iss)
        self.audience = try DID(aud)
        self.capabilities = try att.map { c throws(UCANError) in try Capability(ipld: c) }
        self.expiration = payload["exp"]?.intValue
        self.notBefore = payload["nbf"]?.intValue
        self.nonce = payload["nnc"]?.stringValue
        self.facts = (payload["fct"]?.listValue ?? []).compactMap(\.mapValue)
        self.proofs = try (payload["prf"]?.listValue ?? []).map { p throws(UCANError) in
            guard case .string(let s) = p else { throw .invalidUCAN("JWT proofs must be CID strings") }
            do { return try CID(s) } catch { throw .invalidUCAN("bad proof CID \(s)") }
        }
        let code: UInt64 = alg == "EdDSA" ? UCANSignature.edDSA : (UCANSignature.algorithms.first { $0.value == alg }?.key ?? UCANSignature.nonStandard)
        self.signature = code == UCANSignature.nonStandard ? UCANSignature(nonStandard: alg, raw: raw) : try UCANSignature(code: code, raw: raw)
        self.jwtSigningInput = Array(parts[0].utf8) + [UInt8(ascii: ".")] + Array(parts[1].utf8)
    }
}

/// Unpadded base64url, as used in JWT segments.
public enum Base64URL {
    /// Encodes without padding.
    public static func encode(_ bytes: some Collection<UInt8>) -> String { Multibase.base64url.encodeBare(bytes) }
    /// Decodes, tolerating padding.
    public static func decode(_ text: Substring) throws(Multibase.Error) -> [UInt8] {
        var t = text
        while t.last == "=" { t = t.dropLast() }
        return try Multibase.base64url.decodeBare(t)
    }
}
