import Foundation
import GRDB
@testable import LocalService
import Testing
import TestSupport

@Suite struct ServiceStoreTests {
    /// The writer syncs the WAL at every commit (synchronous FULL = 2), not only at checkpoints (NORMAL, which the
    /// pool's own set-up leaves): a committed receipt or upload survives a power cut.
    @Test func commitsAreSyncedToDisk() throws {
        let dir = try makeTempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let store = try ServiceStore(url: dir.appendingPathComponent("service.sqlite"))
        let level = try store.db.writeWithoutTransaction { db in try Int.fetchOne(db, sql: "PRAGMA synchronous") }
        #expect(level == 2)
    }
}
