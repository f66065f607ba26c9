import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Testing
import TestSupport

/// A command of the `storacha` tree, as `--experimental-dump-help` describes it.
struct CommandPath: Sendable, CustomStringConvertible {
    let names: [String]
    var description: String { names.joined(separator: " ") }

    /// Every command and subcommand of `binary` (not `help`).
    static func all(of binary: URL, in directory: URL) async throws -> [CommandPath] {
        let dump = try await StorachaBinary.run(executable: binary, ["--experimental-dump-help"], in: directory)
        let root = try JSONSerialization.jsonObject(with: dump.stdoutData) as? [String: Any]
        var out: [CommandPath] = []
        func walk(_ command: [String: Any], _ path: [String]) {
            for sub in command["subcommands"] as? [[String: Any]] ?? [] {
                guard let name = sub["commandName"] as? String, name != "help" else { continue }
                out.append(CommandPath(names: path + [name]))
                walk(sub, path + [name])
            }
        }
        walk(root?["command"] as? [String: Any] ?? [:], [])
        return out
    }
}

/// The long options a `--help` text lists in its OPTIONS section.
func helpOptions(_ text: String) -> Set<String> {
    var out: Set<String> = []
    for line in text.split(separator: "\n") where line.hasPrefix("  -") {
        let head = line.split(separator: " ", omittingEmptySubsequences: true).prefix(3).joined(separator: " ")
        for match in head.matches(of: /--[a-z0-9][a-z0-9-]*/) { out.insert(String(match.output)) }
    }
    return out
}

@Suite struct CompletionTests {
    /// The bash, zsh and fish completions name every command and every option of it.
    @Test func completionsCoverEveryCommand() async throws {
        let dir = try makeTempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let binary = StorachaBinary.binary
        let commands = try await CommandPath.all(of: binary, in: dir)
        #expect(commands.count > 50, "\(commands)")
        var options: [String: Set<String>] = [:]
        for command in commands {
            options[command.description] = helpOptions(try await StorachaBinary.run(["help"] + command.names, in: dir).stdout)
        }
        for shell in ["bash", "zsh", "fish"] {
            let script = try await StorachaBinary.run(["--generate-completion-script", shell], in: dir).stdout
            for command in commands {
                #expect(script.contains(command.names.last ?? ""), "\(shell) completion lacks \(command)")
                for option in options[command.description] ?? [] {
                    #expect(script.contains(shell == "fish" ? "-l '\(option.dropFirst(2))'" : option),
                            "\(shell) completion lacks \(command) \(option)")
                }
            }
        }
    }
}

/// The release binary that `scripts/release` made (opt-in: `STORACHA_RELEASE_BINARY=dist/storacha`).
let releaseBinary: URL? = ProcessInfo.processInfo.environment["STORACHA_RELEASE_BINARY"].flatMap {
    $0.isEmpty ? nil : URL(fileURLWithPath: $0, relativeTo: URL(fileURLWithPath: FileManager.default.currentDirectoryPath))
}

@Suite(.enabled(if: releaseBinary != nil, "set STORACHA_RELEASE_BINARY to the binary scripts/release made"))
struct ReleaseBinaryTests {
    /// Only system libraries, and it runs `--version`, `car pack` and `serve local` from an empty environment in a
    /// folder outside the project.
    @Test func itRunsAloneFromAnEmptyEnvironment() async throws {
        let release = try #require(releaseBinary)
        let dir = try makeTempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let ldd = try await StorachaBinary.run(executable: URL(fileURLWithPath: "/usr/bin/ldd"), [release.path], in: dir)
        #expect(ldd.status == 0)
        for line in ldd.stdout.split(separator: "\n") {
            #expect(!line.contains("libswift") && !line.contains("libFoundation") && !line.contains("libdispatch")
                    && !line.contains("not found"), "\(line)")
        }
        let binary = dir.appendingPathComponent("storacha")
        try FileManager.default.copyItem(at: release, to: binary)
        let env = URL(fileURLWithPath: "/usr/bin/env")
        let version = try await StorachaBinary.run(executable: env, ["-i", binary.path, "--version"], in: dir)
        #expect(version.status == 0 && !version.stdout.contains("development build"), "\(version.stdout)\(version.stderr)")

        try Data(repeating: 7, count: 3 << 20).write(to: dir.appendingPathComponent("file.bin"))
        let packed = try await StorachaBinary.run(executable: env, ["-i", binary.path, "car", "pack", "file.bin", "-o", "a.car"], in: dir)
        let reference = try await StorachaBinary.run(["car", "pack", "file.bin", "-o", "b.car"], in: dir)
        #expect(packed.status == 0 && packed.stdout == reference.stdout, "\(packed.stderr)")
        #expect(try Data(contentsOf: dir.appendingPathComponent("a.car")) == Data(contentsOf: dir.appendingPathComponent("b.car")))

        let server = Process()
        server.executableURL = env
        server.arguments = ["-i", binary.path, "serve", "local", "--data", dir.appendingPathComponent("data").path, "--port", "0",
                            "--json"]
        server.currentDirectoryURL = dir
        let out = Pipe()
        server.standardOutput = out
        server.standardError = FileHandle.nullDevice
        try server.run()
        defer { server.terminate(); server.waitUntilExit() }
        let line = try await offPool { () -> Data in
            var bytes = Data()
            while let next = try out.fileHandleForReading.read(upToCount: 1), !next.isEmpty, next != Data("\n".utf8) { bytes += next }
            return bytes
        }
        let url = try #require((try JSONSerialization.jsonObject(with: line) as? [String: Any])?["url"] as? String)
        let (did, _) = try await URLSession.shared.data(from: try #require(URL(string: url + "/.well-known/did.json")))
        #expect(String(decoding: did, as: UTF8.self).contains("did:web:localhost"))
    }

    /// Every command has a man page beside the binary (`dist/man`), and it lists the options `storacha help` lists.
    @Test func theManPagesAgreeWithHelp() async throws {
        let release = try #require(releaseBinary)
        let man = release.deletingLastPathComponent().appendingPathComponent("man")
        let dir = try makeTempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let commands = try await CommandPath.all(of: release, in: dir)
        #expect(commands.count > 50)
        for command in [CommandPath(names: [])] + commands {
            let page = man.appendingPathComponent((["storacha"] + command.names).joined(separator: ".") + ".1")
            guard let text = try? String(contentsOf: page, encoding: .utf8) else {
                Issue.record("no man page for storacha \(command)")
                continue
            }
            var listed: Set<String> = []
            // mdoc writes `--output` as `Fl -output`, and `-o, --output` as `Fl o , -output`.
            for line in text.split(separator: "\n") where line.hasPrefix(".It Fl") {
                for word in line.split(separator: " ") where word.count > 2 && word.hasPrefix("-") && !word.hasPrefix("--") {
                    listed.insert("-" + word)
                }
            }
            let help = try await StorachaBinary.run(executable: release, ["help"] + command.names, in: dir).stdout
            #expect(listed == helpOptions(help), "storacha \(command): man \(listed.sorted()) help \(helpOptions(help).sorted())")
        }
    }
}
