import Foundation
import Testing
import TestSupport

/// A user on this machine: a HOME of their own (so the profile lands in `HOME/.config/w3access`), a
/// local-service data directory, and the `storacha` binary run as a child process.
struct User {
    let home: URL
    let data: URL
    var environment: [String: String?]

    init() throws {
        home = try makeTempDir()
        data = home.appendingPathComponent("local-data")
        environment = ["HOME": home.path, "XDG_CONFIG_HOME": nil, "XDG_DATA_HOME": nil, "STORACHA_PRINCIPAL": nil, "STORACHA_STORE_NAME": nil,
                       "STORACHA_SERVICE_URL": nil, "STORACHA_SERVICE_DID": nil, "STORACHA_NETWORK": nil, "STORACHA_LOCAL_DATA": nil]
    }

    func profile(_ name: String = "storacha-cli-local") -> URL { home.appendingPathComponent(".config/w3access/\(name).json") }

    /// `storacha args… --network local --data DATA` (unless `local` is false).
    @discardableResult
    func run(_ args: [String], local: Bool = true, env: [String: String?] = [:], input: Data? = nil,
             wrapper: [String] = []) async throws -> StorachaBinary.Result {
        let tail = local ? ["--network", "local", "--data", data.path] : []
        return try await StorachaBinary.run(args + tail, in: home, wrapper: wrapper, environment: environment.merging(env) { $1 }, input: input)
    }

    /// Runs and expects success; returns standard output.
    func ok(_ args: [String], local: Bool = true, env: [String: String?] = [:], input: Data? = nil,
            sourceLocation: SourceLocation = #_sourceLocation) async throws -> String {
        let r = try await run(args, local: local, env: env, input: input)
        #expect(r.status == 0, "\(args): \(r.stderr)", sourceLocation: sourceLocation)
        return r.stdout
    }

    /// Runs and expects a one-line error (non-zero exit, no stack trace) that contains `text`;
    /// the profile file `profile` is byte-for-byte unchanged.
    func fails(_ args: [String], with text: String, local: Bool = true, env: [String: String?] = [:], profile: URL? = nil,
               sourceLocation: SourceLocation = #_sourceLocation) async throws {
        let before = try? Data(contentsOf: profile ?? self.profile())
        let r = try await run(args, local: local, env: env)
        #expect(r.status != 0, "\(args) succeeded", sourceLocation: sourceLocation)
        // Progress lines (`up`) may come first; the error is one line, the last.
        let lines = r.stderr.split(separator: "\n")
        #expect(lines.filter { $0.hasPrefix("Error:") }.count == 1 && lines.last?.hasPrefix("Error:") == true, "\(args): \(r.stderr)",
                sourceLocation: sourceLocation)
        #expect(r.stderr.contains(text), "\(args): \(r.stderr)", sourceLocation: sourceLocation)
        #expect(!r.stderr.contains("Fatal error") && !r.stderr.contains("Stack"), sourceLocation: sourceLocation)
        #expect((try? Data(contentsOf: profile ?? self.profile())) == before, "\(args) changed the profile", sourceLocation: sourceLocation)
    }

    func cleanUp() { try? FileManager.default.removeItem(at: home) }
}

func json(_ text: String) throws -> [String: Any] {
    try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any] ?? [:]
}

@Suite(.serialized) struct AgentCommandTests {
    /// The whole account and space story on `--network local` with the service in-process, then the
    /// CI pattern of `flows.md` §5.4 and a revocation the service enforces.
    @Test func loginSpacesAndTheCIPattern() async throws {
        let alice = try User()
        defer { alice.cleanUp() }
        let agent = try await alice.ok(["whoami"]).trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(agent.hasPrefix("did:key:z6Mk"))
        #expect(try await alice.ok(["account", "ls"]).contains("Agent has not been authorized yet"))
        #expect(try await alice.ok(["login", "alice@example.com"]) == "🐔 Agent was authorized by did:mailto:example.com:alice\n")
        #expect(try await alice.ok(["account", "ls"]) == "did:mailto:example.com:alice\n")

        let created = try await alice.ok(["space", "create", "photos", "--no-caution"])
        let photos = try #require(created.split(separator: "\n").last?.split(separator: " ").last.map(String.init))
        #expect(created.hasSuffix("🐔 Space created: \(photos)\n") && photos.hasPrefix("did:key:"))
        let phrase = try #require(created.split(separator: "\n").first { $0.hasPrefix("  ") && $0.split(separator: " ").count == 24 })
        let docs = try await alice.ok(["space", "create", "docs", "--no-caution", "--no-recovery"]).split(separator: " ").last.map {
            $0.trimmingCharacters(in: .whitespacesAndNewlines)
        } ?? ""
        #expect(try await alice.ok(["space", "ls"]) == "  \(photos) photos\n* \(docs) docs\n")
        #expect(try await alice.ok(["space", "use", "photos"]) == "\(photos)\n")
        #expect(try await alice.ok(["space", "ls"]) == "* \(photos) photos\n  \(docs) docs\n")
        let info = try json(try await alice.ok(["space", "info", "--json"]))
        #expect(info["did"] as? String == photos && info["name"] as? String == "photos")
        #expect((info["providers"] as? [String])?.count == 1)
        let text = try await alice.ok(["space", "info", "--space", "docs"])
        #expect(text.contains("      DID: \(docs)\n") && text.contains("     Name: docs"))
        let usage = try await alice.ok(["usage", "report"])
        #expect(usage.contains("   Space: \(photos)\n") && usage.contains("   Space: \(docs)\n") && usage.hasSuffix("   Total: 0\n"))
        let usageJSON = try await alice.ok(["usage", "report", "--json"]).split(separator: "\n")
        #expect(usageJSON.count == 2 && usageJSON[0].hasPrefix("{\"account\":\"did:mailto:example.com:alice\",\"provider\":"))
        #expect(try await alice.ok(["plan", "get"]).hasPrefix("🐔 did:"))

        // The account holds both spaces: another agent that logs in with it claims them.
        var laptop = try User()
        defer { laptop.cleanUp() }
        laptop.environment["STORACHA_LOCAL_DATA"] = alice.data.path
        let viaEnv: [String: String?] = ["STORACHA_NETWORK": "local"]
        _ = try await laptop.ok(["login", "alice@example.com"], local: false, env: viaEnv)
        let claimed = try await laptop.ok(["space", "ls"], local: false, env: viaEnv)
        #expect(claimed.contains("\(photos) photos\n") && claimed.contains("\(docs) docs\n"), "\(claimed)")
        #expect(try await laptop.ok(["space", "info", "--space", "photos"], local: false, env: viaEnv).contains("Providers: did:web:"))

        // Provisioning later, and the refusals of a space that is not provisioned.
        let later = try await alice.ok(["space", "create", "later", "--no-caution", "--no-recovery", "--no-customer", "--no-account"])
        #expect(!later.contains("Billing") && later.contains("🐔 Space created: "))
        #expect(try await alice.ok(["space", "info"]).contains("Providers: none"))
        #expect(try await alice.ok(["space", "provision"]) == "✨ Billing account is set\n")
        #expect(try await alice.ok(["space", "info"]).contains("Providers: did:web:"))
        _ = try await alice.ok(["space", "use", photos])
        // Without a terminal the phrase cannot be typed back: the space is not created.
        try await alice.fails(["space", "create", "careful"], with: "--no-caution")

        // The recovery phrase gives back the same space, on a fresh machine too.
        let bob = try User()
        defer { bob.cleanUp() }
        let recovered = try await bob.ok(["space", "recover", "holiday"], input: Data((phrase + "\n").utf8))
        #expect(recovered == "🐔 Recovered space \(photos) (holiday)\n")

        // CI: a key, a delegation string for it, and a second profile that imports it.
        let key = try json(try await alice.ok(["key", "create", "--json"], local: false))
        let ciDID = try #require(key["did"] as? String)
        let ciKey = try #require(key["key"] as? String)
        let proof = try await alice.ok(["delegation", "create", ciDID, "--can", "space/blob/add", "--can", "space/index/add",
                                        "--can", "upload/add", "--can", "filecoin/offer", "--can", "space/info", "--base64"])
            .trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(proof.hasPrefix("mAYIEA"))
        let ci: [String: String?] = ["STORACHA_PRINCIPAL": ciKey, "STORACHA_STORE_NAME": "ci"]
        #expect(try await alice.ok(["space", "add", proof], env: ci) == "\(photos)\n")
        #expect(try await alice.ok(["whoami"], env: ci) == "\(ciDID)\n")
        #expect(try await alice.ok(["space", "ls"], env: ci) == "* \(photos) photos\n")
        #expect(try await alice.ok(["space", "info"], env: ci).contains("      DID: \(photos)"))
        #expect(try await alice.ok(["proof", "ls"], env: ci).hasSuffix("# 1 proof for \(ciDID)\n"))
        // The same proof as a file, with `proof add` (a dry run first), and `can access claim`.
        let proofFile = alice.home.appendingPathComponent("ci.proof")
        try Data(proof.utf8).write(to: proofFile)
        let dry = try await alice.ok(["proof", "add", "--dry-run", proofFile.path], env: ["STORACHA_PRINCIPAL": ciKey, "STORACHA_STORE_NAME": "ci3"])
        #expect(dry.contains("  issuer: \(agent)\n  with: \(photos)\n  can: space/blob/add\n"))
        let added = try await alice.ok(["proof", "add", "--json", proofFile.path], env: ci)
        #expect(try json(added)["aud"] as? String == ciDID)
        _ = try await alice.ok(["can", "access", "claim"])
        #expect(FileManager.default.fileExists(atPath: alice.profile("ci-local").path))

        // Exactly the four abilities of the CI pattern are enough for `up`.
        let ci4Pair = try json(try await alice.ok(["key", "create", "--json"], local: false))
        let (ci4Key, ci4DID) = (try #require(ci4Pair["key"] as? String), try #require(ci4Pair["did"] as? String))
        let four = try await alice.ok(["delegation", "create", ci4DID, "--can", "space/blob/add", "--can", "space/index/add",
                                       "--can", "upload/add", "--can", "filecoin/offer", "--base64"])
            .trimmingCharacters(in: .whitespacesAndNewlines)
        let ci4: [String: String?] = ["STORACHA_PRINCIPAL": ci4Key, "STORACHA_STORE_NAME": "ci4"]
        #expect(try await alice.ok(["space", "add", four], env: ci4) == "\(photos)\n")
        let artifact = alice.home.appendingPathComponent("build.log")
        try lcg(300_000, seed: 4).write(to: artifact)
        let uploaded = try await alice.ok(["up", artifact.path, "--json"], env: ci4)
        let wrapped = try await alice.ok(["cid", artifact.path], local: false).trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(uploaded == "{\"root\":{\"/\":\"\(wrapped)\"}}\n")
        #expect(try await alice.ok(["ls"]).contains(wrapped), "the owner sees the CI upload")

        // The issuer lists and revokes it; the service refuses the proof from then on.
        let issued = try await alice.ok(["delegation", "ls", "--json"]).split(separator: "\n").map { try json(String($0)) }
        let toCI = try #require(issued.first { $0["audience"] as? String == ciDID }?["cid"] as? String)
        #expect(try await alice.ok(["delegation", "revoke", toCI]) == "🐔 delegation \(toCI) revoked\n")
        try await alice.fails(["space", "info"], with: "revoked", env: ci, profile: alice.profile("ci-local"))
        // Another key under the same profile name is refused, with what to do.
        let other = try json(try await alice.ok(["key", "create", "--json"], local: false))["key"] as? String
        try await alice.fails(["whoami"], with: "STORACHA_STORE_NAME", env: ["STORACHA_PRINCIPAL": other, "STORACHA_STORE_NAME": "ci"],
                              profile: alice.profile("ci-local"))
        // Local experiments never touched the production profile.
        #expect(!FileManager.default.fileExists(atPath: alice.profile("storacha-cli").path))
    }

    /// A running `storacha serve local` on a free port: `--network local --data` attaches to it (the
    /// login is confirmed through the emailed link), and `STORACHA_SERVICE_URL`/`DID` reach it as a
    /// custom network with the official profile name.
    @Test func againstARunningLocalService() async throws {
        let alice = try User()
        defer { alice.cleanUp() }
        let server = try await ServiceProcess.start(data: alice.data, autoConfirm: false)
        defer { server.stop() }
        #expect(try await alice.ok(["login", "alice@example.com"]).contains("authorized by did:mailto:example.com:alice"))
        let space = try await alice.ok(["space", "create", "shared", "--no-caution"]).split(separator: " ").last.map {
            $0.trimmingCharacters(in: .whitespacesAndNewlines)
        } ?? ""
        let info = try json(try await alice.ok(["space", "info", "--json"]))
        #expect(info["providers"] as? [String] == [server.did.string])

        let key = try json(try await alice.ok(["key", "create", "--json"], local: false))
        let proofFile = alice.home.appendingPathComponent("proof.car")
        _ = try await alice.ok(["delegation", "create", try #require(key["did"] as? String), "--can", "space/info", "-o", proofFile.path])
        let custom: [String: String?] = ["STORACHA_SERVICE_URL": server.url, "STORACHA_SERVICE_DID": server.did.string,
                                         "STORACHA_PRINCIPAL": key["key"] as? String]
        #expect(try await alice.ok(["space", "add", proofFile.path], local: false, env: custom) == "\(space)\n")
        #expect(try await alice.ok(["space", "info"], local: false, env: custom).contains("Providers: \(server.did)"))
        #expect(FileManager.default.fileExists(atPath: alice.profile("storacha-cli").path))
        // An unreachable service: one line with the URL; the profile stays as it was.
        try await alice.fails(["space", "info"], with: "cannot reach the service (POST http://127.0.0.1:9/",
                              local: false, env: custom.merging(["STORACHA_SERVICE_URL": "http://127.0.0.1:9"]) { $1 },
                              profile: alice.profile("storacha-cli"))
    }

    /// `login` waits for the link; Ctrl-C while it waits leaves the profile as it was.
    @Test func interruptedLoginChangesNothing() async throws {
        let user = try User()
        defer { user.cleanUp() }
        let server = try await ServiceProcess.start(data: user.data, autoConfirm: false)
        defer { server.stop() }
        let custom: [String: String?] = ["STORACHA_SERVICE_URL": server.url, "STORACHA_SERVICE_DID": server.did.string]
        _ = try await user.ok(["whoami"], local: false, env: custom)
        let profile = user.profile("storacha-cli")
        let before = try Data(contentsOf: profile)
        let process = Process()
        process.executableURL = StorachaBinary.binary
        process.arguments = ["login", "alice@example.com"]
        var env = ProcessInfo.processInfo.environment
        for (k, v) in user.environment.merging(custom, uniquingKeysWith: { $1 }) { env[k] = v }
        process.environment = env
        let err = Pipe()
        process.standardError = err
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        // Wait for the instruction line, then interrupt.
        let line = try await offPool { () -> String in
            var text = Data()
            while !text.contains(UInt8(ascii: "\n")) {
                let chunk = err.fileHandleForReading.availableData
                if chunk.isEmpty { break }
                text.append(chunk)
            }
            return String(decoding: text, as: UTF8.self)
        }
        #expect(line.contains("please click the link sent to alice@example.com"), "\(line)")
        #expect(process.isRunning)
        kill(process.processIdentifier, SIGINT)
        try await offPool { process.waitUntilExit() }
        #expect(process.terminationStatus != 0)
        #expect(try Data(contentsOf: profile) == before)
    }

    /// A profile written by the official JS CLI (built from the documented format) is read as is.
    @Test func readsAProfileTheJSClientWrote() async throws {
        let user = try User()
        defer { user.cleanUp() }
        let fixture = try JSProfileFixture()
        let file = user.profile("storacha-cli")
        try FileManager.default.createDirectory(at: file.deletingLastPathComponent(), withIntermediateDirectories: true)
        try Data(fixture.json.utf8).write(to: file)
        #expect(try await user.ok(["whoami"], local: false) == "\(Principals.alice.did)\n")
        #expect(try await user.ok(["space", "ls"], local: false) == "* \(Principals.bob.did) photos\n")
        #expect(try await user.ok(["account", "ls"], local: false) == "\(fixture.account)\n")
        let proofs = try await user.ok(["proof", "ls"], local: false)
        for d in [fixture.spaceProof, fixture.session, fixture.attestation] { #expect(proofs.contains("# \(d.cid)\n")) }
        #expect(proofs.hasSuffix("# 3 proofs for \(Principals.alice.did)\n"))
        let lines = try await user.ok(["proof", "ls", "--json"], local: false).split(separator: "\n")
        let expected = [fixture.spaceProof, fixture.session, fixture.attestation].map(\.cid.description)
        #expect(try lines.map { try json(String($0))["/"] as? String } == expected)
        #expect(try Data(contentsOf: file) == Data(fixture.json.utf8), "reading must not rewrite the profile")
        // A write keeps every field and the format.
        #expect(try await user.ok(["reset"], local: false) == "🐔 Agent reset.\n")
        #expect(try await user.ok(["whoami"], local: false) == "\(Principals.alice.did)\n")
        let after = try String(contentsOf: file, encoding: .utf8)
        #expect(after.hasPrefix("{\"meta\":{\"name\":\"agent\",\"type\":\"device\"},\"principal\":{\"id\":\"\(Principals.alice.did)\""))
        #expect(after.hasSuffix(",\"spaces\":{\"$map\":[]},\"delegations\":{\"$map\":[]}}"))
    }

    /// Bad input: one line, non-zero exit, the profile unchanged.
    @Test func badInputIsRefusedCleanly() async throws {
        let user = try User()
        defer { user.cleanUp() }
        _ = try await user.ok(["whoami"])
        try await user.fails(["login", "not-an-email"], with: "not-an-email is not an email address")
        try await user.fails(["space", "add", "garbage"], with: "neither a proof string")
        try await user.fails(["space", "add", "mAYIEAJEOOqJlcm9vdHOB2CpY"], with: "truncated")
        let notCAR = user.home.appendingPathComponent("proof.txt")
        try Data("this is not a CAR".utf8).write(to: notCAR)
        try await user.fails(["space", "add", notCAR.path], with: "failed to parse proof")
        try await user.fails(["proof", "add", notCAR.path], with: "failed to parse proof")
        try await user.fails(["space", "use", "nowhere"], with: "space not found: nowhere")
        try await user.fails(["space", "info", "--space", "nowhere"], with: "space not found: nowhere")
        try await user.fails(["space", "info"], with: "no current space")
        try await user.fails(["space", "create", "x", "--no-caution"], with: "not logged in")
        try await user.fails(["delegation", "create", "did:key:z6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooWp"], with: "no current space")
        try await user.fails(["whoami"], with: "STORACHA_PRINCIPAL is not an agent key", env: ["STORACHA_PRINCIPAL": "Mgnope"])
        try await user.fails(["whoami", "--network", "mars"], with: "unknown network mars", local: false)
        // A proof for another agent is refused by `space add` (and says which agent it is for).
        let alice = try User()
        defer { alice.cleanUp() }
        _ = try await alice.ok(["login", "alice@example.com"])
        _ = try await alice.ok(["space", "create", "p", "--no-caution", "--no-recovery"])
        let stranger = "did:key:z6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooWp"
        let proof = try await alice.ok(["delegation", "create", stranger, "--base64"]).trimmingCharacters(in: .whitespacesAndNewlines)
        try await user.fails(["space", "add", proof], with: "the proof is for \(stranger), not this agent")
        // An expired one is refused with its date.
        let expiring = try await alice.ok(["delegation", "create", try await user.ok(["whoami"]).trimmingCharacters(in: .whitespacesAndNewlines),
                                           "--base64", "-e", "1700000000"]).trimmingCharacters(in: .whitespacesAndNewlines)
        try await user.fails(["space", "add", expiring], with: "the proof expired at 2023-11-14")
    }

    /// Every agent command documents its flags.
    @Test func helpNamesTheFlags() async throws {
        let dir = try makeTempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let cases: [([String], [String])] = [
            (["login"], ["--network", "--data"]),
            (["space", "create"], ["--no-recovery", "--no-caution", "--no-account", "--customer", "--no-gateway-authorization",
                                   "--authorize-gateway-services", "--no-customer"]),
            (["delegation", "create"], ["--can", "--name", "--type", "--expiration", "--output", "--base64"]),
            (["delegation", "revoke"], ["--proof"]), (["proof", "add"], ["--json", "--dry-run"]), (["key", "create"], ["--json"]),
            (["usage", "report"], ["--json", "--human"]), (["space", "info"], ["--space", "--json"]), (["space", "recover"], ["--file"]),
        ]
        for (command, flags) in cases {
            let r = try await StorachaBinary.run(["help"] + command, in: dir)
            for flag in flags { #expect(r.stdout.contains(flag), "\(command) \(flag)") }
        }
    }
}
