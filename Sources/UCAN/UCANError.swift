/// Errors building, decoding or verifying UCANs and their containers.
public enum UCANError: Error, Equatable, Sendable, CustomStringConvertible {
    case invalidDID(String)
    case invalidPrincipal(String)
    case invalidKey(String)
    case invalidSignature(String)
    case invalidUCAN(String)
    case invalidCapability(String)
    case invalidArchive(String)
    case invalidReceipt(String)
    case invalidMessage(String)
    case missingBlock(String)
    case signingFailed(String)

    public var description: String {
        switch self {
        case .invalidDID(let s): return "invalid DID: \(s)"
        case .invalidPrincipal(let s): return "invalid principal: \(s)"
        case .invalidKey(let s): return "invalid key: \(s)"
        case .invalidSignature(let s): return "invalid signature: \(s)"
        case .invalidUCAN(let s): return "invalid UCAN: \(s)"
        case .invalidCapability(let s): return "invalid capability: \(s)"
        case .invalidArchive(let s): return "invalid delegation archive: \(s)"
        case .invalidReceipt(let s): return "invalid receipt: \(s)"
        case .invalidMessage(let s): return "invalid agent message: \(s)"
        case .missingBlock(let s): return "missing block: \(s)"
        case .signingFailed(let s): return "signing failed: \(s)"
        }
    }
}
