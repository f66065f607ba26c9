import Foundation
import Piece
import SystemIO

extension Piece {
    /// The piece of a file's bytes, read in 1 MiB pieces on the blocking-I/O pool.
    public static func of(file url: URL) async throws -> Piece {
        try await BlockingIO.run { try Piece.computed(fromFileAt: url) }
    }

    /// Shards smaller than this have no piece (guppy skips `filecoin/offer` for them).
    public static let minimumPayload: UInt64 = 127
}
