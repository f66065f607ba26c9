import Foundation

/// A property a fuzz target checks that did not hold for an input (a crash is the other kind of finding).
public struct FuzzFinding: Error, CustomStringConvertible, Sendable {
    public let description: String
    init(_ description: String) { self.description = description }
}

/// One parser under fuzzing: it takes any bytes, must return or throw a typed error (never trap or hang), and
/// checks what it can beyond that (round trips, verified hashes, refused forgeries).
public struct FuzzTarget: Sendable {
    /// The name `Fuzz/run` takes.
    public let name: String
    /// What it feeds the bytes to.
    public let summary: String
    let body: @Sendable ([UInt8]) throws -> Void

    /// Runs one input; returns the property that failed, if one did.
    public func run(_ input: [UInt8]) -> FuzzFinding? {
        do { try body(input) } catch let finding as FuzzFinding { return finding } catch { return nil }
        return nil
    }
}

/// Every fuzz target.
public enum FuzzTargets {
    public static let all: [FuzzTarget] = codecs + containers + ucan + s3

    /// Makes the state targets share (keys, a signed message) before the first input, so that libFuzzer's per-input
    /// leak check does not take it for a leak of that input.
    public static func prepare() { _ = ValidatorFixture.shared }

    /// The target called `name`.
    public static func named(_ name: String) -> FuzzTarget? { all.first { $0.name == name } }
}

/// Fails the input with `message` unless `condition` holds.
func require(_ condition: Bool, _ message: @autoclosure () -> String) throws {
    if !condition { throw FuzzFinding(message()) }
}

/// Runs async work to its end from the fuzzer's synchronous entry point; nil when it threw.
func blocking<T: Sendable>(_ body: @escaping @Sendable () async throws -> T) -> Result<T, any Error> {
    let done = DispatchSemaphore(value: 0)
    let box = ResultBox<T>()
    Task.detached {
        do { box.result = .success(try await body()) } catch { box.result = .failure(error) }
        done.signal()
    }
    done.wait()
    return box.result ?? .failure(FuzzFinding("no result"))
}

private final class ResultBox<T: Sendable>: @unchecked Sendable {
    var result: Result<T, any Error>?
}

/// The fuzz input as text (invalid UTF-8 repaired, as a client's bytes would be).
func text(_ input: [UInt8]) -> String { String(decoding: input, as: UTF8.self) }
