import ArgumentParser
import Foundation
import StorachaBuildInfo

/// The `storacha` command-line tool.
@main
struct Storacha: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "storacha",
        abstract: "Store files on Storacha (IPFS hot storage with Filecoin deals) and get them back.",
        discussion: "Byte-for-byte compatible with the official JS client: the same root CIDs, CAR shards and sharded DAG index as "
            + "`storacha up`, and the same agent profile, commands and proof strings. Production network by default; "
            + "--network local uses the local service with no account and no network.",
        version: Storacha.version,
        subcommands: [
            UpCommand.self, ListCommand.self, RemoveCommand.self, OpenCommand.self,
            LoginCommand.self, WhoamiCommand.self, AccountCommand.self, SpaceCommand.self, DelegationCommand.self, ProofCommand.self,
            KeyCommand.self, UsageCommand.self, PlanCommand.self, CanCommand.self, ResetCommand.self,
            GetCommand.self, CatCommand.self, CARCommand.self, CIDCommand.self, ServeCommand.self, S3Command.self, RcloneCommand.self,
            BenchCommand.self,
        ]
    )
}

extension Storacha {
    /// The release, and the git commit it was built from when scripts/release built it.
    static var version: String {
        let commit = String(cString: storacha_build_commit())
        return commit.isEmpty ? "0.1.0 (development build)" : "0.1.0 (\(commit))"
    }
}

/// A failure reported to the user as one line, with a non-zero exit.
struct CLIError: Error, CustomStringConvertible, LocalizedError {
    let description: String
    init(_ message: String) { description = message }
    var errorDescription: String? { description }
}

/// Runs `body`, turning any error into a one-line ``CLIError``.
func userFacing<T>(_ body: () async throws -> T) async throws -> T {
    do { return try await body() } catch let e as CLIError { throw e } catch let e as ExitCode { throw e } catch {
        throw CLIError(ErrorText.line(error))
    }
}

/// Writes a line to standard error.
func printError(_ line: String) {
    FileHandle.standardError.write(Data((line + "\n").utf8))
}
