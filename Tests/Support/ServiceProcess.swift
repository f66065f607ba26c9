import Foundation
import IPLD
import UCAN

/// A `storacha serve local` child process on a free port of 127.0.0.1.
public final class ServiceProcess: @unchecked Sendable {
    public let process = Process()
    /// Its URL.
    public let url: String
    /// Its DID.
    public let did: DID

    /// Starts the child (with `--auto-confirm` unless `autoConfirm` is false) and waits, off the
    /// cooperative pool, for the line with its URL.
    public static func start(data: URL, autoConfirm: Bool = true, arguments: [String] = []) async throws -> ServiceProcess {
        try await offPool { try ServiceProcess(data: data, autoConfirm: autoConfirm, arguments: arguments) }
    }

    private init(data: URL, autoConfirm: Bool, arguments: [String]) throws {
        process.executableURL = StorachaBinary.binary
        process.arguments = ["serve", "local", "--data", data.path, "--port", "0", "--json"] + (autoConfirm ? ["--auto-confirm"] : []) + arguments
        let out = Pipe()
        process.standardOutput = out
        process.standardError = FileHandle.nullDevice
        try process.run()
        var line = Data()
        while !line.contains(UInt8(ascii: "\n")) {
            let chunk = out.fileHandleForReading.availableData
            if chunk.isEmpty { throw ChildProcessError("the service exited before printing its URL") }
            line.append(chunk)
        }
        let value = try DAGJSON.decode(line.prefix { $0 != UInt8(ascii: "\n") })
        url = value["url"]?.stringValue ?? ""
        did = try DID(value["did"]?.stringValue ?? "")
    }

    /// Kills the child with SIGKILL and reaps it.
    public func kill9() {
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }

    /// Stops the child; SIGKILL because a child may inherit an ignored SIGTERM from the test process.
    public func stop() { kill9() }
}

/// A child process that did not start as expected.
public struct ChildProcessError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
