import Foundation
import SystemIO
import Testing
import TestSupport

@Suite struct UncachedFileWriterTests {
    /// Whatever the sizes of the writes and of the whole (empty, under a block, on and around block and buffer
    /// boundaries), the file holds exactly the bytes written, in order, and is made 0600.
    @Test(arguments: [0, 1, 4095, 4096, 4097, 65_536 + 7, (1 << 20) - 1, 1 << 20, (1 << 20) + 1, 3 * (1 << 20) + 123])
    func theFileHoldsWhatWasWritten(size: Int) throws {
        let dir = try makeTempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let url = dir.appendingPathComponent("file")
        var state: UInt32 = UInt32(truncatingIfNeeded: size) | 1
        let bytes = (0..<size).map { _ in
            state = state &* 1_664_525 &+ 1_013_904_223
            return UInt8(truncatingIfNeeded: state >> 24)
        }
        let writer = try UncachedFileWriter(creating: url)
        var offset = 0
        var piece = 1
        while offset < size {
            // Pieces of changing sizes: 1 byte, 3, 9, … and then back.
            let n = min(size - offset, piece)
            try writer.write(Array(bytes[offset..<offset + n]))
            offset += n
            piece = piece > 300_000 ? 1 : piece * 3
        }
        #expect(writer.count == UInt64(size))
        try writer.finish()
        #expect(try Data(contentsOf: url) == Data(bytes))
        let mode = try FileManager.default.attributesOfItem(atPath: url.path)[.posixPermissions] as? Int
        #expect(mode == 0o600)
    }

    /// A file that exists already is refused, not overwritten.
    @Test func anExistingFileIsRefused() throws {
        let dir = try makeTempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let url = dir.appendingPathComponent("file")
        try Data("kept".utf8).write(to: url)
        #expect(throws: DurableFileError.self) { _ = try UncachedFileWriter(creating: url) }
        #expect(try Data(contentsOf: url) == Data("kept".utf8))
    }
}
