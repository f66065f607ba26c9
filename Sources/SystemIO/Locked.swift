import Foundation

/// A value behind a lock.
public final class Locked<T: Sendable>: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: T

    /// A lock around `value`.
    public init(_ value: T) { stored = value }

    /// The value, read or replaced under the lock.
    public var value: T {
        get { lock.withLock { stored } }
        set { lock.withLock { stored = newValue } }
    }

    /// Changes the value under the lock and returns what `change` returns.
    public func update<R>(_ change: (inout T) -> R) -> R { lock.withLock { change(&stored) } }
}
