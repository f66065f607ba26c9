import Foundation
import StorachaClient
import UCAN

/// One line a person can act on, for any error an agent command meets.
enum ErrorText {
    static func line(_ error: Error) -> String {
        switch error {
        case let e as CLIError: return e.description
        case let e as AgentError: return e.description
        case let e as ProfileError: return e.description
        case let e as MnemonicError: return e.description
        case let e as NetworkError: return e.description
        case let e as UCANError: return "invalid proof or key: \(e)"
        case let e as ClientError: return client(e)
        default: return String(describing: error).split(separator: "\n").first.map(String.init) ?? "\(error)"
        }
    }

    static func client(_ error: ClientError) -> String {
        switch error {
        case .network(let detail):
            return "cannot reach the service (\(detail)): check the network, or STORACHA_SERVICE_URL / --network"
        case .http(let status, let message):
            return "the service answered HTTP \(status): \(message.split(separator: "\n").first ?? "")"
        case .failed(let capability, let name, let message):
            return failure(capability: capability, name: name, message: message)
        case .missingReceipt, .protocolViolation:
            return error.description
        }
    }

    /// The production error names (`flows.md` §3) with what to do about them.
    static func failure(capability: String, name: String, message: String) -> String {
        switch name {
        case "AccountPlanMissing":
            return "the account has no payment plan (AccountPlanMissing): choose one at https://console.storacha.network, "
                + "then run `storacha space provision`"
        case "InsufficientStorage", "SpaceUnknown":
            return "the space is not provisioned (\(name)): run `storacha space provision` with a logged-in account"
        case "SpaceAlreadyProvisioned":
            return "the space is already provisioned by another account (SpaceAlreadyProvisioned)"
        case "AccountBlocked":
            return "the account is blocked (AccountBlocked): contact Storacha support"
        case "RequestExpired":
            return "the login link expired before it was confirmed (RequestExpired): run `storacha login` again"
        case "ServiceUnavailable":
            return "the service does not accept writes right now (ServiceUnavailable): try again later"
        case "Unauthorized", "InvalidAudience", "Expired", "NotValidBefore", "InvalidSignature", "UnavailableProof", "Revoked":
            return "\(capability) was refused (\(name)): \(firstLine(message))"
        case "PlanNotFound":
            return "the account has no payment plan yet (PlanNotFound): choose one at https://console.storacha.network"
        default:
            return "\(capability) failed: \(name): \(firstLine(message))"
        }
    }

    static func firstLine(_ s: String) -> String { s.split(separator: "\n").first.map(String.init) ?? s }
}
