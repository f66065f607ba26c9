import Foundation
import IPLD
import LocalService
import Multiformats
import StorachaClient
import Testing
import TestSupport
import UnixFS
import NIOCore

func runCLI(_ args: [String], in directory: URL) async throws -> StorachaBinary.Result {
    try await StorachaBinary.run(args, in: directory)
}

@Suite(.serialized) struct GetCatTests {
    @Test func getAndCatThroughTheGateway() async throws {
        let world = try await World.start()
        defer { Task { await world.stop() } }
        let big = lcg(2_200_000, seed: 11)
        let result = try await world.upload([ImportFile(name: "dir/big.bin", data: big), ImportFile(name: "dir/note.txt", data: Data("note".utf8))])
        let work = FileManager.default.temporaryDirectory.appendingPathComponent("getcat-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: work) }
        let get = try await runCLI(["get", result.root.description, "--gateway", world.running.url, "-o", "copy"], in: work)
        #expect(get.status == 0, "\(get.stderr)")
        #expect(try Data(contentsOf: work.appendingPathComponent("copy/dir/big.bin")) == big)
        #expect(try Data(contentsOf: work.appendingPathComponent("copy/dir/note.txt")) == Data("note".utf8))
        let cat = try await runCLI(["cat", "/ipfs/\(result.root)/dir/big.bin", "--gateway", world.running.url, "--range", "1048570-1048589"],
                                   in: work)
        #expect(cat.status == 0 && cat.stdoutData == big[1_048_570...1_048_589])
        let whole = try await runCLI(["cat", "\(result.root)/dir/note.txt", "--gateway", world.running.url], in: work)
        #expect(whole.stdoutData == Data("note".utf8))
        // Unknown content and an existing output are clean errors.
        let unknown = "bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy"
        let missing = try await runCLI(["get", unknown, "--gateway", world.running.url], in: work)
        #expect(missing.status != 0 && missing.stderr.contains("404"))
        let again = try await runCLI(["get", result.root.description, "--gateway", world.running.url, "-o", "copy"], in: work)
        #expect(again.status != 0 && again.stderr.contains("already exists"))
    }

    @Test func aLyingGatewayIsCaught() async throws {
        // A static server that answers every block request with the wrong bytes.
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("liar-\(UUID().uuidString)")
        let cid = CID.sha256(codec: CID.Codec.raw, Data("the real bytes".utf8))
        try FileManager.default.createDirectory(at: root.appendingPathComponent("ipfs"), withIntermediateDirectories: true)
        try Data("other bytes".utf8).write(to: root.appendingPathComponent("ipfs/\(cid)"))
        defer { try? FileManager.default.removeItem(at: root) }
        let port = Int.random(in: 20000...40000)
        let server = Process()
        server.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        server.arguments = ["python3", "-m", "http.server", String(port), "--bind", "127.0.0.1", "--directory", root.path]
        server.standardOutput = FileHandle.nullDevice
        server.standardError = FileHandle.nullDevice
        try server.run()
        // SIGKILL: a child may inherit an ignored SIGTERM from the test process.
        defer { kill(server.processIdentifier, SIGKILL); server.waitUntilExit() }
        // Short timeouts while the server starts: a refused connection is retried until the deadline.
        let source = GatewayBlockSource(url: "http://127.0.0.1:\(port)", timeout: .seconds(1))
        var lastError: Error?
        for _ in 0..<50 {
            do {
                _ = try await source.block(cid)
                Issue.record("tampered bytes were accepted")
                return
            } catch let e as ClientError {
                lastError = e
                if case .protocolViolation = e { break }
                try await Task.sleep(nanoseconds: 100_000_000)  // the server is still starting
            }
        }
        guard case .protocolViolation? = lastError as? ClientError else { Issue.record("expected a verification failure, got \(String(describing: lastError))"); return }
    }
}
