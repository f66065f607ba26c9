import Foundation
import NIOPosix

/// Runs blocking work (file reads and writes, fsync, CPU-bound packing) on NIO's blocking thread
/// pool, so that async code never blocks the cooperative pool that serves every other request.
///
/// Every synchronous file operation reached from async code goes through ``run(_:)``.
public enum BlockingIO {
    /// Runs `body` on the shared blocking-I/O thread pool and returns its result.
    public static func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await NIOThreadPool.singleton.runIfActive(body)
    }
}

extension BlockingIO {
    /// Runs long blocking work that may wait on other work (a packer waiting for its uploads) on a thread
    /// of its own with an 8 MiB stack (deep DAGs recurse), so that it never holds a pool thread others need.
    public static func runOnOwnThread<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            let thread = Thread { continuation.resume(with: Result { try body() }) }
            thread.stackSize = 8 << 20
            thread.start()
        }
    }
}
