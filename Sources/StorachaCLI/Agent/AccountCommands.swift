import ArgumentParser
import CivilTime
import Foundation
import IPLD
import StorachaClient
import UCAN

/// `storacha login <email>`: authorize this agent with an account.
struct LoginCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "login",
        abstract: "Authorize this agent to use the capabilities of your account (email).",
        discussion: "Asks the service to email a confirmation link, then waits (polling access/claim every 250 ms until the link "
            + "expires) for you to click it. Ctrl-C stops waiting and leaves the profile unchanged. On --network local the "
            + "login is confirmed at once.")

    @Argument(help: "The account's email address.")
    var email: String

    @OptionGroup var options: AgentOptions

    func run() async throws {
        try await options.withAgent { agent, context in
            let account = try Agent.account(email: email)
            if !agent.accounts.contains(where: { $0.did == account }) {
                let request = try await agent.requestLogin(account)
                if let local = context.local {
                    try await local.confirmLogin(agent: agent.did)
                } else {
                    printError("🔗 please click the link sent to \(email) to authorize this agent")
                }
                let claimed = try await agent.waitForLogin(request)
                try agent.importProofs(claimed)
            }
            print("🐔 Agent was authorized by \(account)")
        }
    }
}

/// `storacha whoami`.
struct WhoamiCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "whoami", abstract: "Print this agent's DID.")

    @OptionGroup var options: AgentOptions

    func run() async throws {
        try await options.withAgent { agent, _ in print(agent.did) }
    }
}

/// `storacha reset`.
struct ResetCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "reset", abstract: "Remove all proofs and spaces from the agent profile, keeping the agent's key.")

    @OptionGroup var options: AgentOptions

    func run() async throws {
        try await options.withAgent { agent, _ in
            try agent.update { profile in
                profile = AgentProfile(principal: profile.principal, meta: profile.meta)
            }
            print("🐔 Agent reset.")
        }
    }
}

/// `storacha key create`.
struct KeyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "key", abstract: "Manage agent keys.", subcommands: [Create.self])

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print a new Ed25519 agent key (for STORACHA_PRINCIPAL) and its DID.")

        @Flag(help: "Print {\"did\", \"key\"} as JSON.")
        var json = false

        func run() async throws {
            let signer = Ed25519Signer.generate()
            if json {
                print("{\n  \"did\": \"\(signer.did)\",\n  \"key\": \"\(signer.format())\"\n}")
            } else {
                print("# \(signer.did)")
                print(signer.format())
            }
        }
    }
}

/// `storacha account ls`.
struct AccountCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "account", abstract: "Manage accounts.", subcommands: [List.self])

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "ls", abstract: "List the accounts this agent is authorized by.",
                                                        aliases: ["list"])

        @OptionGroup var options: AgentOptions

        func run() async throws {
            try await options.withAgent { agent, _ in
                let accounts = agent.accounts
                for account in accounts { print(account.did) }
                if accounts.isEmpty {
                    print("🐔 Agent has not been authorized yet. Try `storacha login` to authorize this agent with your account.")
                }
            }
        }
    }
}

/// `storacha plan get [email]`.
struct PlanCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "plan", abstract: "Account plans.", subcommands: [Get.self])

    struct Get: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print the payment plan of an account.")

        @Argument(help: "The account's email (default: the only account this agent is logged in with).")
        var email: String?

        @OptionGroup var options: AgentOptions

        func run() async throws {
            try await options.withAgent { agent, _ in
                let account = try chooseAccount(agent, email: email)
                if let product = try await agent.plan(account) {
                    print("🐔 \(product)")
                } else {
                    print("🐔 no plan has been selected yet")
                }
            }
        }
    }
}

/// The account `email` names, or the only one the agent has.
func chooseAccount(_ agent: Agent, email: String?) throws -> DID {
    let accounts = agent.accounts.map(\.did)
    if let email {
        let account = try Agent.account(email: email)
        guard accounts.contains(account) else { throw CLIError("Agent is not authorized by \(email), please login with it first") }
        return account
    }
    guard let first = accounts.first else {
        throw CLIError("this agent is not logged in: run `storacha login <email>` first")
    }
    guard accounts.count == 1 else {
        throw CLIError("this agent is logged in with several accounts (\(accounts.compactMap(\.email).joined(separator: ", "))): name one")
    }
    return first
}

/// `storacha usage report`.
struct UsageCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "usage", abstract: "Storage usage.", subcommands: [Report.self])

    struct Report: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print the storage used by each space of each account, from the start of last month until now.")

        @Flag(help: "Human-readable sizes.")
        var human = false

        @Flag(help: "One JSON object per space.")
        var json = false

        @OptionGroup var options: AgentOptions

        func run() async throws {
            try await options.withAgent { agent, _ in
                let now = Date()
                let (entries, failures) = try await agent.usage(from: Agent.startOfLastMonth(now), to: Int(now.timeIntervalSince1970))
                let reportedAt = UTCDateTime(now).iso8601()
                var total = 0
                for e in entries {
                    total += e.final
                    if json {
                        print(jsonLine(["account": .string(e.account.string), "provider": .string(e.provider), "space": .string(e.space),
                                        "size": ["final": .integer(IPLDInteger(e.final)), "initial": .integer(IPLDInteger(e.initial))],
                                        "reportedAt": .string(reportedAt)]))
                    } else {
                        print(" Account: \(e.account)\nProvider: \(e.provider)\n   Space: \(e.space)\n    Size: \(size(e.final))\n")
                    }
                }
                if !json {
                    print("   Total: \(size(total))")
                    if !failures.isEmpty {
                        printError("\n   WARNING: there were \(failures.count) errors getting usage reports for some spaces.")
                        for f in failures { printError("   * space: \(f.space)\n     error: \(f.error)\n     account: \(f.account)") }
                    }
                }
            }
        }

        func size(_ bytes: Int) -> String { human ? ByteText.filesize(bytes) : String(bytes) }
    }
}

/// `storacha can …`: one capability at a time (`access claim` here, the others in CanCommands.swift).
struct CanCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "can", abstract: "Invoke capabilities directly.",
                                                    subcommands: [Access.self, Blob.self, Index.self, Upload.self, Filecoin.self])

    struct Access: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "access", abstract: "access/* capabilities.",
                                                        subcommands: [Claim.self])

        struct Claim: AsyncParsableCommand {
            static let configuration = CommandConfiguration(
                abstract: "Claim the delegations the service holds for this agent (picks up spaces created elsewhere).")

            @OptionGroup var options: AgentOptions

            func run() async throws {
                try await options.withAgent { agent, _ in
                    let claimed = try await agent.claim()
                    try agent.importProofs(claimed)
                    printError("claimed \(claimed.count) delegation\(claimed.count == 1 ? "" : "s")")
                }
            }
        }
    }
}

/// Sizes as the JS CLI prints them (`filesize` in its lib.js: decimal units, one decimal).
enum ByteText {
    static func filesize(_ bytes: Int) -> String {
        let b = Double(bytes)
        if bytes < 50 { return "\(bytes)B" }
        if bytes < 50_000 { return String(format: "%.1fKB", b / 1000) }
        if bytes < 50_000_000 { return String(format: "%.1fMB", b / 1_000_000) }
        return String(format: "%.1fGB", b / 1_000_000_000)
    }

    /// `filesizeMB` of the JS CLI.
    static func megabytes(_ bytes: UInt64) -> String { String(format: "%.1fMB", Double(bytes) / 1_000_000) }

    /// A size as a user writes it: `1234`, `500MB`, `10GiB`, `2T` (K, M, G, T: powers of 1000, with `i` of 1024;
    /// a `B` may follow), or nil when it is not one.
    static func parseSize(_ text: String) -> UInt64? {
        var digits = Substring(text.trimmingCharacters(in: .whitespaces))
        var unit = ""
        while let last = digits.last, last.isLetter { unit = String(last) + unit; digits.removeLast() }
        guard !digits.isEmpty, digits.allSatisfy(\.isASCII), let number = Double(digits), number >= 0 else { return nil }
        let upper = unit.uppercased()
        let base: Double = upper.hasSuffix("IB") || upper.hasSuffix("I") ? 1024 : 1000
        let power: Double
        switch upper.first {
        case nil, "B": power = 0
        case "K": power = 1
        case "M": power = 2
        case "G": power = 3
        case "T": power = 4
        default: return nil
        }
        let known: Set<String> = ["", "B", "K", "KB", "KI", "KIB", "M", "MB", "MI", "MIB", "G", "GB", "GI", "GIB", "T", "TB", "TI", "TIB"]
        guard known.contains(upper) else { return nil }
        let bytes = (number * Foundation.pow(base, power)).rounded()
        return bytes < 1.8e19 ? UInt64(bytes) : nil
    }
}
