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

    /// Concurrent writes share transactions (group commit), yet each is atomic on its own: a write that throws
    /// after inserting leaves nothing, its error reaches its caller alone, and every other write is stored with
    /// its own result.
    @Test func concurrentWritesAreEachAtomic() async throws {
        let dir = try makeTempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let store = try ServiceStore(url: dir.appendingPathComponent("service.sqlite"))
        struct Refused: Error {}
        let outcomes = await withTaskGroup(of: (Int, Result<String?, any Error>).self) { group in
            for i in 0..<40 {
                group.addTask {
                    do {
                        let value = try await store.write { db -> String? in
                            try db.execute(sql: "INSERT INTO pieces (content, piece, insertedAt) VALUES (?, ?, 0)",
                                           arguments: ["c\(i)", "p\(i)"])
                            if i % 7 == 3 { throw Refused() }
                            return i % 2 == 0 ? "w\(i)" : nil
                        }
                        return (i, .success(value))
                    } catch {
                        return (i, .failure(error))
                    }
                }
            }
            var all: [Int: Result<String?, any Error>] = [:]
            for await (i, result) in group { all[i] = result }
            return all
        }
        let stored = try await store.read { db in try String.fetchAll(db, sql: "SELECT content FROM pieces") }
        #expect(Set(stored) == Set((0..<40).filter { $0 % 7 != 3 }.map { "c\($0)" }))
        for i in 0..<40 {
            switch outcomes[i] {
            case .success(let value)?: #expect(i % 7 != 3 && value == (i % 2 == 0 ? "w\(i)" : nil))
            case .failure(let error)?: #expect(i % 7 == 3 && error is Refused)
            case nil: Issue.record("write \(i) returned nothing")
            }
        }
    }
}
