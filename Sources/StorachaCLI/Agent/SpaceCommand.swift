import ArgumentParser
import Foundation
import StorachaClient
import SystemIO
import UCAN

/// `storacha space …`.
struct SpaceCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "space", abstract: "Create and manage spaces.",
        subcommands: [Create.self, List.self, Use.self, Info.self, Add.self, Provision.self, Recover.self])

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create a space: a new key, its recovery phrase, provisioning under your account, account recovery and gateway access.",
            discussion: "Prints the 24-word recovery phrase (type it back to confirm on a terminal, or pass --no-caution to only print "
                + "it), provisions the space with provider/add under the logged-in account, delegates it to the account so that "
                + "your other agents can claim it, and authorizes the gateway to serve its content.")

        @Argument(help: "A name for the space.")
        var name: String?

        @Flag(name: .customLong("no-recovery"), help: "Do not show a recovery phrase.")
        var noRecovery = false

        @Flag(name: .customLong("no-caution"), help: "Print the recovery phrase without asking to type it back.")
        var noCaution = false

        @Flag(name: .customLong("no-customer"), help: "Do not provision the space (do it later with `space provision`).")
        var noCustomer = false

        @Option(name: [.customShort("c"), .long], help: "The email of the account to provision the space with.")
        var customer: String?

        @Flag(name: .customLong("no-plan-selection"), help: "Do not ask for a plan (the account must have one).")
        var noPlanSelection = false

        @Flag(name: .customLong("no-account"), help: "Do not delegate the space to an account.")
        var noAccount = false

        @Option(name: [.customShort("a"), .long], help: "The email of the account to delegate the space to.")
        var account: String?

        @Flag(name: .customLong("no-gateway-authorization"), help: "Do not authorize the gateway to serve the space's content.")
        var noGatewayAuthorization = false

        @Option(name: .customLong("authorize-gateway-services"),
                help: ArgumentHelp("Gateways to authorize instead of the default, as JSON "
                                   + "[{\"id\":\"did:…\",\"serviceEndpoint\":\"https://…\"}].",
                                   valueName: "json"))
        var authorizeGatewayServices: String?

        @OptionGroup var options: AgentOptions

        func validate() throws {
            if let authorizeGatewayServices { _ = try Create.gateways(authorizeGatewayServices) }
        }

        static func gateways(_ text: String) throws -> [ServiceConnection] {
            guard case .array(let items) = try? JSONValue.parse(Data(text.utf8)) else {
                throw ValidationError("--authorize-gateway-services must be a JSON array of {\"id\", \"serviceEndpoint\"}")
            }
            return try items.map { item in
                guard let id = item["id"]?.stringValue, let did = try? DID(id), let url = item["serviceEndpoint"]?.stringValue,
                      url.hasPrefix("http") else {
                    throw ValidationError("--authorize-gateway-services: each entry needs a DID \"id\" and an http(s) \"serviceEndpoint\"")
                }
                return ServiceConnection(url: url, did: did)
            }
        }

        func run() async throws {
            try await options.withAgent { agent, _ in
                let name = try self.name ?? Prompt.line("What would you like to call this space? ")
                guard !name.isEmpty else { throw CLIError("give the space a name: storacha space create <name>") }
                if agent.spaces.contains(where: { $0.name == name }) {
                    throw CLIError("Name \"\(name)\" is already taken, please choose a different one")
                }
                // Everything that can refuse is checked before a key exists.
                let customerAccount = noCustomer ? nil : try chooseAccount(agent, email: customer)
                if let customerAccount, try await agent.plan(customerAccount) == nil {
                    throw CLIError(ErrorText.failure(capability: "provider/add", name: "AccountPlanMissing", message: ""))
                }
                let recoveryAccount = noAccount ? nil : try chooseAccount(agent, email: account)
                let space = Agent.OwnedSpace.generate(name: name)
                if !noRecovery { try confirmRecovery(space.recoveryPhrase) }
                if let customerAccount {
                    try await agent.provision(space.did, account: customerAccount)
                    print("✨ Billing account is set")
                }
                try agent.save(space)
                if let recoveryAccount {
                    try await agent.delegateRecovery(space, to: recoveryAccount)
                    print("✨ Account is authorized")
                }
                if !noGatewayAuthorization {
                    let gateways = try authorizeGatewayServices.map(Create.gateways) ?? [agent.network.gatewayConnection]
                    for gateway in gateways { try await agent.authorizeGateway(space: space.did, gateway: gateway) }
                }
                print("🐔 Space created: \(space.did)")
            }
        }

        /// Shows the phrase; on a terminal, unless `--no-caution`, asks for it back.
        func confirmRecovery(_ phrase: String) throws {
            let instruction = "🔑 You need to save following secret recovery key somewhere safe! For example write it down on a piece "
                + "of paper and put it inside your favorite book.\n\n  \(phrase)\n"
            if noCaution {
                print(instruction)
                return
            }
            guard Platform.isTerminal(0) else {
                throw CLIError("cannot confirm the recovery phrase without a terminal: pass --no-caution to print it, or --no-recovery")
            }
            print(instruction)
            let typed = try Prompt.line("🔒 Please type or paste your recovery key to make sure it is correct: ")
            guard typed.split(whereSeparator: { $0.isWhitespace }).joined(separator: " ") == phrase else {
                throw CLIError("⚠️ Aborting: the recovery key does not match; nothing was created")
            }
            print("🔐 Secret recovery key is correct!")
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "ls", abstract: "List spaces (* marks the current one).",
                                                        aliases: ["list"])

        @OptionGroup var options: AgentOptions

        func run() async throws {
            try await options.withAgent { agent, _ in
                for space in agent.spaces {
                    print("\(space.did == agent.profile.currentSpace ? "* " : "  ")\(space.did) \(space.name)")
                }
            }
        }
    }

    struct Use: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Make a space the current one.")

        @Argument(help: "The space's DID or name.")
        var space: String

        @OptionGroup var options: AgentOptions

        func run() async throws {
            try await options.withAgent { agent, _ in
                guard let found = agent.spaces.first(where: { $0.did.string == space }) ?? agent.spaces.first(where: { $0.name == space }) else {
                    throw CLIError("space not found: \(space)")
                }
                try agent.use(found.did)
                print(found.did)
            }
        }
    }

    struct Info: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show a space's DID, providers and name (space/info).")

        @Option(name: .long, help: "The space (default: the current one).")
        var space: String?

        @Flag(help: "Print JSON.")
        var json = false

        @OptionGroup var options: AgentOptions

        func run() async throws {
            try await options.withAgent { agent, _ in
                let did = try agent.space(space)
                let receipt = try await agent.invoke("space/info", with: did.string, nonce: UUID().uuidString)
                var providers: [String] = []
                if receipt.out.errorName != "SpaceUnknown" {
                    providers = try receipt.requireOK("space/info")["providers"]?.listValue?.compactMap(\.stringValue) ?? []
                }
                let name = agent.profile.spaceMeta(did)?["name"]?.stringValue
                if json {
                    var lines = ["{", "    \"did\": \(JSONValue.string(did.string).serialized())"]
                    if receipt.out.errorName != "SpaceUnknown" {
                        let list = providers.map { "        " + JSONValue.string($0).serialized() }.joined(separator: ",\n")
                        lines[1] += ","
                        lines.append(providers.isEmpty ? "    \"providers\": []" : "    \"providers\": [\n\(list)\n    ]")
                    }
                    if let name {
                        lines[lines.count - 1] += ","
                        lines.append("    \"name\": \(JSONValue.string(name).serialized())")
                    }
                    print((lines + ["}"]).joined(separator: "\n"))
                } else {
                    let list = providers.isEmpty ? "none" : providers.joined(separator: ", ")
                    print("\n      DID: \(did)\nProviders: \(list)\n     Name: \(name ?? "none")")
                }
            }
        }
    }

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Import a space from a proof: a mAYIEA… string, a delegation archive file or a legacy CAR file.")

        @Argument(help: "The proof string or file.")
        var proof: String

        @OptionGroup var options: AgentOptions

        func run() async throws {
            try await options.withAgent { agent, _ in
                let delegation = try ProofInput.read(proof)
                print(try agent.addSpace(from: delegation))
            }
        }
    }

    struct Provision: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Provision a space under your account (provider/add).")

        @Argument(help: "The space's DID or name (default: the current space).")
        var space: String?

        @Option(name: .long, help: "The email of the account to provision it with.")
        var customer: String?

        @OptionGroup var options: AgentOptions

        func run() async throws {
            try await options.withAgent { agent, _ in
                let did = try agent.space(space)
                let account = try chooseAccount(agent, email: customer)
                try await agent.provision(did, account: account)
                print("✨ Billing account is set")
            }
        }
    }

    struct Recover: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Recover a space from its 24-word recovery phrase (read from --file, else standard input).")

        @Argument(help: "A name for the recovered space.")
        var name: String

        @Option(name: .long, help: "A file holding the recovery phrase.")
        var file: String?

        @OptionGroup var options: AgentOptions

        func run() async throws {
            try await options.withAgent { agent, _ in
                let phrase: String
                if let file {
                    do { phrase = try String(contentsOfFile: file, encoding: .utf8) } catch {
                        throw CLIError("⚠️ Failed to read recovery mnemonic from file: \(file)")
                    }
                } else {
                    phrase = try Prompt.line("Enter your space recovery mnemonic: ")
                }
                let space = try Agent.OwnedSpace.recover(phrase: phrase, name: name)
                try agent.save(space)
                print("🐔 Recovered space \(space.did) (\(name))")
            }
        }
    }
}

/// Reading a line from standard input.
enum Prompt {
    static func line(_ question: String) throws -> String {
        if Platform.isTerminal(0) { FileHandle.standardError.write(Data(question.utf8)) }
        guard let line = readLine(strippingNewline: true) else { throw CLIError("no input: \(question.trimmingCharacters(in: .whitespaces))") }
        return line.trimmingCharacters(in: .whitespaces)
    }
}
