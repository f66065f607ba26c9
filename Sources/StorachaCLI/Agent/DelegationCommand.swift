import ArgumentParser
import Foundation
import IPLD
import Multiformats
import StorachaClient
import SystemIO
import UCAN
import Ucanto

/// `storacha delegation …`.
struct DelegationCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "delegation", abstract: "Delegate access to the current space, list and revoke delegations.",
        subcommands: [Create.self, List.self, Revoke.self])

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Delegate capabilities on the current space to another agent (a DID), as a CAR archive or a mAYIEA… string.",
            discussion: "For CI: `storacha key create --json` on the CI side's behalf, then `storacha delegation create <did> "
                + "--can space/blob/add --can space/index/add --can upload/add --can filecoin/offer --base64`; in CI set "
                + "STORACHA_PRINCIPAL to the key and run `storacha space add <string>`.")

        @Argument(help: "The audience's DID.")
        var audience: String

        @Option(name: [.customShort("c"), .long], help: "An ability to delegate (repeatable; default: full space access).")
        var can: [String] = []

        @Option(name: [.customShort("n"), .long], help: "A name for the audience.")
        var name: String?

        @Option(name: [.customShort("t"), .long], help: "The audience's type (device, app, service).")
        var type: String?

        @Option(name: [.customShort("e"), .long], help: "Expiration, in seconds since the epoch (0 or none: never).")
        var expiration: Int?

        @Option(name: [.customShort("o"), .long], help: "Write to this file instead of standard output.")
        var output: String?

        @Flag(help: "Print the mAYIEA… string (a CID that embeds the archive) instead of CAR bytes.")
        var base64 = false

        @OptionGroup var options: AgentOptions

        func validate() throws {
            guard (try? DID(audience)) != nil, audience.hasPrefix("did:") else { throw ValidationError("\(audience) is not a DID") }
            if let expiration, expiration < 0 { throw ValidationError("--expiration must be seconds since the epoch") }
        }

        func run() async throws {
            try await options.withAgent { agent, _ in
                if agent.profile.currentSpace == nil {
                    throw CLIError("no current space, use \"space create\" to create one or select one using \"space use\"")
                }
                var audienceMeta: [(String, JSONValue)] = []
                if let name { audienceMeta.append(("name", .string(name))) }
                if let type { audienceMeta.append(("type", .string(type))) }
                let exp: Expiration = (expiration ?? 0) == 0 ? .never : .at(expiration ?? 0)
                let delegation = try agent.createDelegation(to: try DID(audience), abilities: can.isEmpty ? Capabilities.spaceAccess : can,
                                                            expiration: exp, audienceMeta: .object(audienceMeta))
                let bytes = base64 ? Data(try delegation.formatString().utf8) : try delegation.archive()
                if let output {
                    try DurableFile.write(bytes, to: URL(fileURLWithPath: output), permissions: 0o600)
                } else if base64 {
                    print(String(decoding: bytes, as: UTF8.self))
                } else {
                    try FileHandle.standardOutput.write(contentsOf: bytes)
                }
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "ls", abstract: "List delegations this agent issued to others.",
                                                        aliases: ["list"])

        @Flag(help: "One JSON object per delegation.")
        var json = false

        @OptionGroup var options: AgentOptions

        func run() async throws {
            try await options.withAgent { agent, _ in
                for d in agent.issuedDelegations {
                    if json {
                        let caps = d.capabilities.map {
                            "{\"with\":\(DelegationJSON.quoted($0.with)),\"can\":\(DelegationJSON.quoted($0.can))}"
                        }
                        print("{\"cid\":\"\(d.cid)\",\"audience\":\"\(d.audience)\",\"capabilities\":[\(caps.joined(separator: ","))]}")
                    } else {
                        print(d.cid)
                        print("  audience: \(d.audience)")
                        for c in d.capabilities { print("  with: \(c.with)\n  can: \(c.can)") }
                    }
                }
            }
        }
    }

    struct Revoke: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Revoke a delegation (ucan/revoke): the service refuses invocations that rely on it from then on.")

        @Argument(help: "The delegation's CID.")
        var cid: String

        @Option(name: [.customShort("p"), .long], help: "A proof file holding the delegation, if this profile does not.")
        var proof: String?

        @OptionGroup var options: AgentOptions

        func run() async throws {
            try await options.withAgent { agent, _ in
                guard let parsed = try? CID(cid.trimmingCharacters(in: .whitespaces)) else { throw CLIError("invalid CID: \(cid)") }
                let extra = try proof.map { [try ProofInput.read($0)] } ?? []
                try await agent.revoke(parsed, proofs: extra)
                print("🐔 delegation \(cid) revoked")
            }
        }
    }
}

/// `storacha proof …`.
struct ProofCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "proof", abstract: "Add and list proofs (delegations to this agent).",
                                                    subcommands: [Add.self, List.self])

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Add a proof: a mAYIEA… string, an archive file or a legacy CAR file.")

        @Argument(help: "The proof string or file.")
        var proof: String

        @Flag(help: "Print the proof as JSON.")
        var json = false

        @Flag(name: .customLong("dry-run"), help: "Only decode and print the proof.")
        var dryRun = false

        @OptionGroup var options: AgentOptions

        func run() async throws {
            try await options.withAgent { agent, _ in
                let delegation = try ProofInput.read(proof)
                if !dryRun {
                    guard delegation.audience == agent.did else {
                        throw CLIError("the proof is for \(delegation.audience), not this agent (\(agent.did)); nothing was added")
                    }
                    try agent.addProof(delegation)
                }
                if json {
                    print(DelegationJSON.line(delegation))
                } else {
                    print(delegation.cid)
                    print("  issuer: \(delegation.issuer)")
                    for c in delegation.capabilities { print("  with: \(c.with)\n  can: \(c.can)") }
                }
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "ls", abstract: "List the proofs this agent holds.",
                                                        aliases: ["list"])

        @Flag(help: "One JSON object per proof.")
        var json = false

        @OptionGroup var options: AgentOptions

        func run() async throws {
            try await options.withAgent { agent, _ in
                let proofs = agent.heldProofs
                for p in proofs {
                    if json {
                        print(DelegationJSON.line(p))
                        continue
                    }
                    print("# \(p.cid)\niss: \(p.issuer)\naud: \(p.audience)")
                    if let exp = p.expiration { print("exp: \(exp)  # expires \(DelegationJSON.ago(exp, now: agent.now()))") }
                    print("att:")
                    for c in p.capabilities {
                        print("  - can: \(c.can)\n    with: \(c.with)")
                        if let nb = c.nb, !nb.isEmpty { print("    nb: \(DelegationJSON.json(.map(nb)))") }
                    }
                    if !p.facts.isEmpty { print("fct:") }
                    for f in p.facts { print("  - \(DelegationJSON.json(.map(f)))") }
                    print("")
                }
                if !json { print("# \(proofs.count) proof\(proofs.count == 1 ? "" : "s") for \(agent.did)") }
            }
        }
    }
}

/// Reading a proof argument as the official CLI does.
enum ProofInput {
    /// A `mAYIEA…` identity-CID string, a file (archive or legacy CAR), or base64 of a CAR.
    static func read(_ argument: String) throws -> Delegation {
        let text = argument.trimmingCharacters(in: .whitespacesAndNewlines)
        if let cid = try? CID(text) {
            guard cid.codec == CID.Codec.car, cid.multihash.code == Multihash.identityCode else {
                throw CLIError("failed to read proof. Must be identity CID. Fetching of remote proof CARs not supported by this command yet")
            }
            do { return try Delegation.extract(Data(cid.multihash.digest)) } catch {
                throw CLIError("failed to parse proof: the string does not hold a delegation (\(error))")
            }
        }
        if FileManager.default.fileExists(atPath: argument) {
            let bytes: Data
            do { bytes = try Data(contentsOf: URL(fileURLWithPath: argument)) } catch {
                throw CLIError("failed to read proof: \(argument): \(error.localizedDescription)")
            }
            do { return try Delegation.extract(bytes) } catch {
                if let string = String(data: bytes, encoding: .utf8), let d = try? Delegation.parse(string: string) { return d }
                throw CLIError("failed to parse proof: \(argument) is not a delegation archive or CAR (\(error))")
            }
        }
        if text.hasPrefix("mAYIEA") || text.hasPrefix("uAYIEA") {
            throw CLIError("failed to read proof. The string has been truncated.")
        }
        if let d = try? Delegation.parse(string: text) { return d }
        throw CLIError("\(argument) is neither a proof string (mAYIEA…) nor a readable proof file")
    }
}
