import Foundation
import IPLD
import StorachaClient
import UCAN
import Ucanto

extension FuzzTargets {
    static let ucan: [FuzzTarget] = [
        FuzzTarget(name: "ucan", summary: "UCANs in IPLD (DAG-CBOR) and JWT form; what decodes re-encodes to the same UCAN") { input in
            if let value = try? DAGCBOR.decode(input), let ucan = try? UCAN(ipld: value) {
                try require(try UCAN(block: try ucan.block()).signingInput() == ucan.signingInput(), "a UCAN does not round-trip")
            }
            _ = try? UCAN(jwt: text(input))
        },
        FuzzTarget(name: "delegation",
                   summary: "delegation archives (CAR) and proof strings; an extracted delegation re-archives to itself") { input in
            if let delegation = try? Delegation.extract(Data(input)) {
                try require(try Delegation.extract(try delegation.archive()).cid == delegation.cid, "a delegation archive does not round-trip")
            }
            if let delegation = try? Delegation.parse(string: text(input)) {
                try require(try Delegation.parse(string: try delegation.formatString()).cid == delegation.cid, "a proof string does not round-trip")
            }
        },
        FuzzTarget(name: "agent-message", summary: "ucanto/message@7.0.0 CARs; a decoded message re-encodes to one that decodes the same") { input in
            guard let message = try? AgentMessage.decode(Data(input)) else { return }
            let again = try AgentMessage.decode(message.encode())
            try require(again.invocations.map(\.cid) == message.invocations.map(\.cid), "an agent message does not round-trip")
        },
        FuzzTarget(name: "validator", summary: "messages through the validator: it accepts only what the agent's key signed") { input in
            guard let message = try? AgentMessage.decode(Data(input)), let fixture = ValidatorFixture.shared else { return }
            let validator = try fixture.validator()
            for invocation in message.invocations.prefix(8) {
                guard case .success(let accepted) = blocking({ await validator.access(invocation, now: fixture.now) }),
                      case .success = accepted else { continue }
                try require(try invocation.ucan.signingInput() == fixture.signed,
                            "the validator accepted an invocation the agent never signed: \(invocation.cid)")
            }
        },
        FuzzTarget(name: "profile", summary: "the agent profile file (JSON); a read profile is written and read back the same") { input in
            guard let profile = try? AgentProfile(json: Data(input)) else { return }
            let written = profile.json()
            try require(try AgentProfile(json: written).json() == written, "the agent profile does not round-trip")
        },
    ]
}

/// A service, an agent and the one invocation the agent signed, to see what the validator accepts.
///
/// It keeps bytes only: a long-lived `Data` sliced from a larger one holds its buffer through an offset pointer,
/// which LeakSanitizer cannot see and reports as a leak. The validator and the message are made from these bytes
/// when needed.
struct ValidatorFixture: Sendable {
    static let shared = try? ValidatorFixture()
    /// The agent message (a CAR) that carries the agent's one invocation.
    let request: [UInt8]
    /// The signing input of the agent's invocation.
    let signed: [UInt8]
    let now: Int
    /// The service's Ed25519 seed (fixed: signing is deterministic, so the seed corpus stays valid across runs).
    static let serviceSeed = [UInt8](repeating: 1, count: 32)

    init() throws {
        let service = try Ed25519Signer(seed: ValidatorFixture.serviceSeed)
        let agent = try Ed25519Signer(seed: [UInt8](repeating: 2, count: 32))
        now = 1_800_000_000
        let invocation = try Delegation.invoke(issuer: agent, audience: service.did,
                                               capability: Capability(can: "upload/list", with: agent.did.string, nb: [:]),
                                               expiration: .at(now + 3600))
        request = [UInt8](try AgentMessage.request([invocation]).encode())
        signed = try invocation.ucan.signingInput()
    }

    /// A validator whose authority is the service.
    func validator() throws -> Validator {
        Validator(authority: try Ed25519Signer(seed: ValidatorFixture.serviceSeed).verifier)
    }

    /// The agent message, decoded.
    func message() throws -> AgentMessage { try AgentMessage.decode(Data(request)) }
}
