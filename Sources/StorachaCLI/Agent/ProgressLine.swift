import Foundation
import StorachaClient

/// The upload progress line on a terminal's standard error: bytes stored, rate, ETA and shards done,
/// redrawn in place; nothing at all when standard error is not a terminal.
actor ProgressLine {
    let enabled: Bool
    let started = Date()
    var bytes: UInt64 = 0
    var shards = 0
    var drawn = false

    init(enabled: Bool) { self.enabled = enabled }

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
        let left = rate > 0 ? Double(shard.totalBytes - min(bytes, shard.totalBytes)) / rate : 0
        let percent = shard.totalBytes > 0 ? Int(Double(bytes) * 100 / Double(shard.totalBytes)) : 100
        let line = "Storing \(percent)% \(ByteText.megabytes(bytes)) of \(ByteText.megabytes(shard.totalBytes)), "
            + "\(ByteText.megabytes(UInt64(rate)))/s, ETA \(Int(left.rounded()))s, shard \(shards)/\(shard.shardCount)"
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
