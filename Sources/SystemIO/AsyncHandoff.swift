/// Values passed one at a time from a producer task to a consumer: ``send(_:)`` returns only once the consumer
/// has taken the value, so a fast producer (a gateway download) never runs ahead of a slow consumer (an HTTP
/// client) by more than one value, and memory stays bounded whatever the size of what flows through.
///
/// One producer and one consumer. The producer ends with ``finish(throwing:)``; a consumer that stops early
/// calls ``cancel()``, and the producer's next (or pending) ``send(_:)`` throws `CancellationError`.
public final class AsyncHandoff<Element: Sendable>: Sendable {
    private struct State: Sendable {
        var value: Element?
        var end: Result<Void, any Error>?
        var cancelled = false
        var consumer: CheckedContinuation<Element?, any Error>?
        var producer: CheckedContinuation<Void, any Error>?
    }

    private let state = Locked(State())

    /// An empty handoff.
    public init() {}

    /// Hands `value` to the consumer; returns once it was taken. Throws `CancellationError` once the consumer
    /// has cancelled.
    public func send(_ value: Element) async throws {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            let resume: (() -> Void)? = state.update { s in
                if s.cancelled { return { continuation.resume(throwing: CancellationError()) } }
                if let consumer = s.consumer {
                    s.consumer = nil
                    return {
                        consumer.resume(returning: value)
                        continuation.resume()
                    }
                }
                s.value = value
                s.producer = continuation
                return nil
            }
            resume?()
        }
    }

    /// Ends the flow: the consumer gets nil after the last value, or `error`.
    public func finish(throwing error: (any Error)? = nil) {
        let consumer: CheckedContinuation<Element?, any Error>? = state.update { s in
            guard s.end == nil else { return nil }
            s.end = error.map { .failure($0) } ?? .success(())
            defer { s.consumer = nil }
            return s.consumer
        }
        if let error { consumer?.resume(throwing: error) } else { consumer?.resume(returning: nil) }
    }

    /// The next value, or nil once the producer has finished; throws the producer's error.
    public func next() async throws -> Element? {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Element?, any Error>) in
            let resume: (() -> Void)? = state.update { s in
                if let value = s.value {
                    s.value = nil
                    let producer = s.producer
                    s.producer = nil
                    return {
                        continuation.resume(returning: value)
                        producer?.resume()
                    }
                }
                switch s.end {
                case .success?: return { continuation.resume(returning: nil) }
                case .failure(let error)?: return { continuation.resume(throwing: error) }
                case nil:
                    if s.cancelled { return { continuation.resume(throwing: CancellationError()) } }
                    s.consumer = continuation
                    return nil
                }
            }
            resume?()
        }
    }

    /// The consumer stops: a waiting or later ``send(_:)`` throws `CancellationError`.
    public func cancel() {
        let (producer, consumer): (CheckedContinuation<Void, any Error>?, CheckedContinuation<Element?, any Error>?) = state.update { s in
            s.cancelled = true
            s.value = nil
            defer { (s.producer, s.consumer) = (nil, nil) }
            return (s.producer, s.consumer)
        }
        producer?.resume(throwing: CancellationError())
        consumer?.resume(throwing: CancellationError())
    }
}

/// Runs `action` once, when the last reference to it goes away (a consumer dropping a stream that holds it).
public final class CancelOnRelease: Sendable {
    private let action: @Sendable () -> Void

    /// Holds `action` until released.
    public init(_ action: @escaping @Sendable () -> Void) { self.action = action }

    deinit { action() }
}
