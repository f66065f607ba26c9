import Multiformats

/// The dag-ucan signature multiformat: `varint(code) ‖ varint(len) ‖ raw [‖ algorithm name]`.
public struct UCANSignature: Hashable, Sendable {
    /// EdDSA (0xd0ed).
    public static let edDSA: UInt64 = 0xd0ed
    /// Non-standard (0xd000): the algorithm name follows the raw bytes.
    public static let nonStandard: UInt64 = 0xd000

    static let algorithms: [UInt64: String] = [
        0xd0ed: "EdDSA", 0xd0e7: "ES256K", 0xd0ea: "BLS12381G1", 0xd0eb: "BLS12381G2",
        0xd01200: "ES256", 0xd01201: "ES384", 0xd01202: "ES512", 0xd01205: "RS256", 0xd191: "EIP191",
    ]

    /// Signature code.
    public let code: UInt64
    /// Raw signature bytes.
    public let raw: [UInt8]
    /// Algorithm name (JWT `alg`).
    public let algorithm: String

    /// A standard signature.
    public init(code: UInt64, raw: [UInt8]) throws(UCANError) {
        guard let alg = UCANSignature.algorithms[code] else { throw .invalidSignature("unknown signature algorithm code 0x\(String(code, radix: 16))") }
        self.code = code
        self.raw = raw
        self.algorithm = alg
    }

    /// A non-standard signature with an explicit algorithm name (the did:mailto "absentee" form is
    /// empty raw bytes and an empty name).
    public init(nonStandard algorithm: String, raw: [UInt8]) {
        self.code = UCANSignature.nonStandard
        self.raw = raw
        self.algorithm = algorithm
    }

    /// The empty signature of an absent (did:mailto) issuer: `80 a0 03 00`.
    public static let absent = UCANSignature(nonStandard: "", raw: [])

    /// Binary form.
    public var bytes: [UInt8] {
        var out = Varint.encode(code)
        Varint.encode(UInt64(raw.count), into: &out)
        out.append(contentsOf: raw)
        if code == UCANSignature.nonStandard { out.append(contentsOf: algorithm.utf8) }
        return out
    }

    /// Parses the binary form.
    public init(bytes: [UInt8]) throws(UCANError) {
        do {
            let (code, n1) = try Varint.decode(bytes, at: 0)
            let (len, n2) = try Varint.decode(bytes, at: n1)
            let start = n1 + n2
            guard UInt64(bytes.count - start) >= len else { throw UCANError.invalidSignature("signature is truncated") }
            let raw = Array(bytes[start..<(start + Int(len))])
            let rest = bytes[(start + Int(len))...]
            if code == UCANSignature.nonStandard {
                let name = String(decoding: rest, as: UTF8.self)
                self.init(nonStandard: name, raw: raw)
            } else {
                guard rest.isEmpty else { throw UCANError.invalidSignature("trailing bytes after signature") }
                try self.init(code: code, raw: raw)
            }
        } catch let e as UCANError {
            throw e
        } catch {
            throw .invalidSignature("malformed signature: \(error)")
        }
    }
}
