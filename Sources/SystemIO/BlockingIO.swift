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
