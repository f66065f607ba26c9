import Foundation
import GRDB
import UCAN
import Ucanto

/// Stores receipts by task (invocation CID), each as the agent-message CAR that `GET /receipt/<task>` serves.
struct ReceiptLog: Sendable {
    let store: ServiceStore

    func save(_ receipt: Receipt, now: Int) async throws {
        let car = try AgentMessage.response([receipt]).encode()
        let task = receipt.ran.description
        let cid = receipt.cid.description
        try await store.write { db in
            try db.execute(sql: "INSERT OR IGNORE INTO receipts (task, receipt, car, insertedAt) VALUES (?, ?, ?, ?)",
                           arguments: [task, cid, car, now])
        }
    }

    /// The stored agent-message CAR for `task`.
    func car(for task: String) async throws -> Data? {
        try await store.read { db in try Data.fetchOne(db, sql: "SELECT car FROM receipts WHERE task = ?", arguments: [task]) }
    }

    /// The stored receipt for `task`.
    func receipt(for task: String) async throws -> Receipt? {
        guard let car = try await car(for: task) else { return nil }
        return try AgentMessage.decode(car).receipts[task]
    }
}
