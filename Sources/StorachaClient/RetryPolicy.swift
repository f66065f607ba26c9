import Foundation

/// How failed requests are retried: network errors, HTTP 5xx and 429 are tried again after an
/// exponential delay with full jitter; 4xx answers and protocol errors are final. Agent messages are
/// idempotent (the service keys receipts by invocation CID) and blob PUTs are content-addressed, so a
/// repeated request never does the work twice.
public struct RetryPolicy: Sendable, Equatable {
    /// Attempts in all (1 = no retry).
    public var attempts: Int
    /// Delay ceiling before the first retry, in seconds; doubled each time.
    public var baseDelay: Double
    /// Longest delay, in seconds.
    public var maxDelay: Double

    /// Creates a policy.
    public init(attempts: Int = 6, baseDelay: Double = 0.25, maxDelay: Double = 8) {
        self.attempts = max(1, attempts)
        self.baseDelay = baseDelay
        self.maxDelay = maxDelay
    }

    /// Whether `error` is worth another attempt.
    public static func isTransient(_ error: Error) -> Bool {
        switch error {
        case ClientError.network: return true
        case ClientError.http(let status, _): return status >= 500 || status == 429
        default: return false
        }
    }

    /// Runs `operation`, retrying transient failures.
    public func run<T: Sendable>(_ operation: () async throws -> T) async throws -> T {
        var attempt = 1
        while true {
            do { return try await operation() } catch {
                guard attempt < attempts, RetryPolicy.isTransient(error), !Task.isCancelled else { throw error }
                let ceiling = min(maxDelay, baseDelay * pow(2, Double(attempt - 1)))
                try await Task.sleep(for: .seconds(Double.random(in: 0...ceiling)))
                attempt += 1
            }
        }
    }
}
