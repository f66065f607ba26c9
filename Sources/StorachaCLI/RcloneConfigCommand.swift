import ArgumentParser
import Foundation
import IPLD
import StorachaClient
import SystemIO

/// `storacha rclone config [NAME]`: writes the S3 gateway as a remote into rclone's config file.
struct RcloneCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "rclone", abstract: "Set rclone up to use the S3 gateway.",
                                                    subcommands: [Config.self])

    struct Config: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "config",
            abstract: "Write the `storacha serve s3` gateway into rclone's config file as a remote.",
            discussion: """
                Reads the gateway's keys from its data directory (the one `serve s3` uses for the same space and \
                options) and its address from the last start there, and writes the remote (type s3, provider Other, \
                no_head: rclone skips its HEAD after each PUT; disable_checksum: rclone does not read a large file \
                whole for its MD5 before a multipart upload, the gateway computes it) into $RCLONE_CONFIG or \
                ~/.config/rclone/rclone.conf \
                (0600), replacing a remote of the same name.
                """)

        @Argument(help: "The remote's name.")
        var name: String = "storacha"

        @Option(help: "The space the gateway serves (DID or name; default: the current space).")
        var space: String?

        @Option(help: "The gateway's data directory, if `serve s3` was given one.")
        var data: String?

        @Option(help: "The gateway's URL (default: where it last listened, else http://127.0.0.1:9000).")
        var endpoint: String?

        @Flag(help: "The gateway runs on the local network (`serve s3 --local`).")
        var local = false

        @Option(help: "rclone's config file (default: $RCLONE_CONFIG, else ~/.config/rclone/rclone.conf).")
        var configFile: String?

        func validate() throws {
            guard !name.isEmpty, name.allSatisfy({ $0.isLetter || $0.isNumber || "_-.".contains($0) }) else {
                throw ValidationError("the remote name may hold letters, digits, '_', '-' and '.'")
            }
        }

        func run() async throws {
            let options = try AgentOptions.parse(local ? ["--network", "local"] : [])
            try await options.withAgent { agent, _ in
                let env = options.environment
                let directory = try data.map { URL(fileURLWithPath: $0) }
                    ?? ServeS3Command.directory(nil, env: env, space: try agent.space(space).string)
                let file = directory.appendingPathComponent("credentials.json")
                guard let stored = try? Data(contentsOf: file), let keys = try? JSONDecoder().decode(S3Credentials.self, from: stored) else {
                    throw CLIError("no gateway keys in \(directory.path): start `storacha serve s3\(local ? " --local" : "")` once first")
                }
                let last = (try? Data(contentsOf: directory.appendingPathComponent("server.json"))).flatMap { try? DAGJSON.decode($0) }
                let url = endpoint ?? last?["url"]?.stringValue ?? "http://127.0.0.1:9000"
                let target = URL(fileURLWithPath: configFile ?? env["RCLONE_CONFIG"].flatMap { $0.isEmpty ? nil : $0 }
                    ?? URL(fileURLWithPath: env["HOME"] ?? NSHomeDirectory()).appendingPathComponent(".config/rclone/rclone.conf").path)
                let section = RcloneRemote.section(name, url: url, accessKey: keys.accessKey, secretKey: keys.secretKey)
                let existing = (try? String(contentsOf: target, encoding: .utf8)) ?? ""
                try FileManager.default.createDirectory(at: target.deletingLastPathComponent(), withIntermediateDirectories: true)
                try DurableFile.write(Data(Config.replacing(name, with: section, in: existing).utf8), to: target, permissions: 0o600)
                print("🐔 rclone remote \(name) → \(url) written to \(target.path)")
                print("   try: rclone mkdir \(name):photos && rclone copy ~/Pictures \(name):photos")
            }
        }

        /// `text` with the section `[name]` replaced by `section` (or `section` appended).
        static func replacing(_ name: String, with section: String, in text: String) -> String {
            var kept: [Substring] = []
            var skipping = false
            for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
                let trimmed = line.trimmingCharacters(in: .whitespaces)
                if trimmed.hasPrefix("[") && trimmed.hasSuffix("]") { skipping = trimmed == "[\(name)]" }
                if !skipping { kept.append(line) }
            }
            var body = kept.joined(separator: "\n")
            while body.hasSuffix("\n\n") { body.removeLast() }
            if !body.isEmpty && !body.hasSuffix("\n") { body += "\n" }
            return body + (body.isEmpty ? "" : "\n") + section
        }
    }
}
