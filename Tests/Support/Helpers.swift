import Foundation
import Crypto
import IPLD
import Multiformats
import UCAN

public func hex(_ s: String) -> [UInt8] {
    var out: [UInt8] = []
    out.reserveCapacity(s.count / 2)
    var it = s.utf8.makeIterator()
    func nibble(_ c: UInt8) -> UInt8 { c >= 97 ? c - 87 : (c >= 65 ? c - 55 : c - 48) }
    while let a = it.next(), let b = it.next() { out.append(nibble(a) << 4 | nibble(b)) }
    return out
}

public func toHex(_ b: some Collection<UInt8>) -> String { b.map { String(format: "%02x", $0) }.joined() }

public func sha256Hex(_ d: Data) -> String { toHex(Array(SHA256.hash(data: d))) }

// Shared by the UCAN and Ucanto test targets.

/// The well-known ucanto test principals (wire-format.md §11.1).
public enum Principals {
    public static let alice = try! Ed25519Signer(parsing: "MgCZT5vOnYZoVAeyjnzuJIVY9J4LNtJ+f8Js0cTPuKUpFne0BVEDJjEu6quFIU8yp91/TY/+MYK8GvlKoTDnqOCovCVM=")
    public static let bob = try! Ed25519Signer(parsing: "MgCYbj5AJfVvdrjkjNCxB3iAUwx7RQHVQ7H1sKyHy46Iose0BEevXgL1V73PD9snOCIoONgb+yQ9sycYchQC8kygR4qY=")
    public static let mallory = try! Ed25519Signer(parsing: "MgCYtH0AvYxiQwBG6+ZXcwlXywq9tI50G2mCAUJbwrrahkO0B0elFYkl3Ulf3Q3A/EvcVY0utb4etiSE8e6pi4H0FEmU=")
    public static let service = try! Ed25519Signer(parsing: "MgCYKXoHVy7Vk4/QjcEGi+MCqjntUiasxXJ8uJKY0qh11e+0Bs8WsdqGK7xothgrDzzWD0ME7ynPjz2okXDh8537lId8=")
}

public func vector(_ name: String) -> (hex: [String], cids: [String], code: [String]) { WireVectors.sections[name]! }

public var sharedVectors: URL {
    URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("shared/vectors")
}

/// TV-A: alice → bob, store/add on alice, exp 1700000000.
public func tvA() throws -> Delegation {
    try Delegation.delegate(issuer: Principals.alice, audience: Principals.bob.did,
                            capabilities: [Capability(can: "store/add", with: Principals.alice.did.string)], expiration: .at(1_700_000_000))
}

/// TV-B: bob → service invocation with TV-A as proof.
public func tvB() throws -> Delegation {
    let nb: [String: IPLDValue] = [
        "link": .link(try CID("bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy")),
        "size": 42,
        "digest": .bytes([0x12, 0x20] + [UInt8](repeating: 0, count: 32)),
    ]
    return try Delegation.invoke(issuer: Principals.bob, audience: Principals.service.did,
                                 capability: Capability(can: "store/add", with: Principals.alice.did.string, nb: nb),
                                 expiration: .at(1_700_000_030), nonce: "abc", proofs: [.delegation(try tvA())])
}

/// A small deterministic PRNG so randomized tests reproduce.
public struct SplitMix64: RandomNumberGenerator {
    public var state: UInt64
    public init(state: UInt64) { self.state = state }
    public mutating func next() -> UInt64 {
        state &+= 0x9e37_79b9_7f4a_7c15
        var z = state
        z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
        z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
        return z ^ (z >> 31)
    }
}

/// `true` where Ed25519 signing is deterministic (BoringSSL on Linux). CryptoKit on Apple platforms
/// randomizes signatures, so byte-exact signature vectors only run where this holds; everything
/// else verifies instead of comparing.
public let deterministicSignatures: Bool = {
    let a = try? Principals.alice.sign([1, 2, 3])
    let b = try? Principals.alice.sign([1, 2, 3])
    return a != nil && a == b
}()

/// The `lcg` input generator of unixfs-car.md §3 (state starts at `seed`).
public func lcg(_ size: Int, seed: UInt32 = 0) -> Data {
    var s = seed
    var bytes = [UInt8](repeating: 0, count: size)
    for i in 0..<size {
        s = s &* 1_664_525 &+ 1_013_904_223
        bytes[i] = UInt8(truncatingIfNeeded: s >> 24)
    }
    return Data(bytes)
}

/// The built `storacha` executable, run as a child process by CLI and service tests.
public enum StorachaBinary {
    /// `$STORACHA_TEST_BINARY` (to run the suites against another build), else beside the test bundle,
    /// else `.build/debug/storacha` in the package.
    public static var binary: URL {
        if let path = ProcessInfo.processInfo.environment["STORACHA_TEST_BINARY"], !path.isEmpty { return URL(fileURLWithPath: path) }
        let beside = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("storacha")
        if FileManager.default.isExecutableFile(atPath: beside.path) { return beside }
        return URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent(".build/debug/storacha")
    }

    /// What a run printed and how it ended.
    public struct Result: Sendable {
        public let status: Int32
        public let stdoutData: Data
        public let stderr: String
        public var stdout: String { String(decoding: stdoutData, as: UTF8.self) }
    }

    /// Runs `storacha args…` in `directory`, optionally under a wrapper such as `/usr/bin/time -v`, with
    /// `environment` added to (or, where a value is `nil`, removed from) the test process's environment.
    ///
    /// The child is awaited on a thread of its own, never on the cooperative pool: a child that talks to
    /// a server inside the test process must not wait for a pool thread that is waiting for it.
    @discardableResult
    public static func run(_ args: [String], in directory: URL, wrapper: [String] = [],
                           environment: [String: String?] = [:], input: Data? = nil) async throws -> Result {
        try await offPool { try runBlocking(binary, args, in: directory, wrapper: wrapper, environment: environment, input: input) }
    }

    /// Runs another program (rclone, the aws CLI) the same way.
    @discardableResult
    public static func run(executable: URL, _ args: [String], in directory: URL, environment: [String: String?] = [:],
                           input: Data? = nil) async throws -> Result {
        try await offPool { try runBlocking(executable, args, in: directory, wrapper: [], environment: environment, input: input) }
    }

    private static func runBlocking(_ binary: URL, _ args: [String], in directory: URL, wrapper: [String],
                                    environment: [String: String?], input: Data?) throws -> Result {
        let process = Process()
        if wrapper.isEmpty {
            process.executableURL = binary
            process.arguments = args
        } else {
            process.executableURL = URL(fileURLWithPath: wrapper[0])
            process.arguments = Array(wrapper.dropFirst()) + [binary.path] + args
        }
        if !environment.isEmpty {
            var env = ProcessInfo.processInfo.environment
            for (key, value) in environment { env[key] = value }
            process.environment = env
        }
        process.currentDirectoryURL = directory
        let out = Pipe()
        let err = Pipe()
        let stdin = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = input == nil ? FileHandle.nullDevice : stdin
        try process.run()
        if let input {
            let writer = Thread { try? stdin.fileHandleForWriting.write(contentsOf: input); try? stdin.fileHandleForWriting.close() }
            writer.start()
        }
        // Both pipes are drained at once so that a child filling one of them never blocks.
        let errBox = DataBox()
        let errReader = Thread { errBox.data = err.fileHandleForReading.readDataToEndOfFile(); errBox.done.signal() }
        errReader.start()
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        errBox.done.wait()
        process.waitUntilExit()
        return Result(status: process.terminationStatus, stdoutData: outData, stderr: String(decoding: errBox.data, as: UTF8.self))
    }
}

private final class DataBox: @unchecked Sendable {
    var data = Data()
    let done = DispatchSemaphore(value: 0)
}

/// Runs blocking `body` on a new thread and awaits it, leaving the cooperative pool free.
public func offPool<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        Thread.detachNewThread { continuation.resume(with: Swift.Result { try body() }) }
    }
}

/// A new private temporary directory.
public func makeTempDir() throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("storacha-cli-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}
