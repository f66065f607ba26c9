import Foundation
import StorachaClient

/// The upload progress line on a terminal's standard error: bytes stored, rate, ETA and shards done,
/// redrawn in place; nothing at all when standard error is not a terminal. Shards are stored while later
/// ones are still being packed, so the totals are those of the input (a CAR's shards are about its size).
actor ProgressLine {
    let enabled: Bool
    let expectedBytes: UInt64
    let expectedShards: Int
    let started = Date()
    var bytes: UInt64 = 0
    var shards = 0
    var drawn = false

    /// A progress line for an input of `expectedBytes`, cut into shards of at most `shardSize`.
    init(enabled: Bool, expectedBytes: UInt64, shardSize: Int) {
        self.enabled = enabled
        self.expectedBytes = expectedBytes
        self.expectedShards = max(1, Int((expectedBytes + UInt64(shardSize) - 1) / UInt64(max(1, shardSize))))
    }

    /// Prints a line above the progress line.
    func print(_ text: String) {
        clear()
        FileHandle.standardError.write(Data((text + "\n").utf8))
    }

    /// Records a stored shard and redraws.
    func advance(_ shard: SpaceSession.StoredShard) {
        bytes += shard.size
        shards += 1
        guard enabled else { return }
        let elapsed = max(Date().timeIntervalSince(started), 0.001)
        let rate = Double(bytes) / elapsed
        let total = max(expectedBytes, bytes)
        let left = rate > 0 ? Double(total - bytes) / rate : 0
        let percent = total > 0 ? min(99, Int(Double(bytes) * 100 / Double(total))) : 99
        let line = "Storing \(percent)% \(ByteText.megabytes(bytes)) of \(ByteText.megabytes(total)), "
            + "\(ByteText.megabytes(UInt64(rate)))/s, ETA \(Int(left.rounded()))s, shard \(shards)/\(max(shards, expectedShards))"
        FileHandle.standardError.write(Data(("\r\u{1B}[K" + line).utf8))
        drawn = true
    }

    /// Clears the line.
    func finish() { clear() }

    private func clear() {
        if drawn { FileHandle.standardError.write(Data("\r\u{1B}[K".utf8)) }
        drawn = false
    }
}
