import Foundation
import SystemIO
import Testing
import TestSupport

@Suite struct PrivateDirectoryTests {
    static func mode(_ url: URL) throws -> Int? {
        (try FileManager.default.attributesOfItem(atPath: url.path)[.posixPermissions] as? NSNumber)?.intValue
    }

    /// A missing directory is made 0700 (with its missing parents); one that others may enter is narrowed to 0700,
    /// keeping what it holds; a file in its place is refused.
    @Test func directoriesBecomeOwnerOnly() throws {
        let dir = try makeTempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let fresh = dir.appendingPathComponent("a/b/data")
        try PrivateDirectory.make(fresh)
        #expect(try PrivateDirectoryTests.mode(fresh) == 0o700)

        let open = dir.appendingPathComponent("open")
        try FileManager.default.createDirectory(at: open, withIntermediateDirectories: false, attributes: [.posixPermissions: 0o755])
        try Data("kept".utf8).write(to: open.appendingPathComponent("file"))
        try PrivateDirectory.make(open)
        #expect(try PrivateDirectoryTests.mode(open) == 0o700)
        #expect(try Data(contentsOf: open.appendingPathComponent("file")) == Data("kept".utf8))

        let file = dir.appendingPathComponent("file")
        try Data().write(to: file)
        #expect(throws: PrivateDirectoryError.self) { try PrivateDirectory.make(file) }
    }

    /// Temporary directories are new, distinct and 0700.
    @Test func temporaryDirectoriesAreOwnerOnly() throws {
        let one = try PrivateDirectory.makeTemporary(prefix: "storacha-test-")
        let two = try PrivateDirectory.makeTemporary(prefix: "storacha-test-")
        defer { for url in [one, two] { try? FileManager.default.removeItem(at: url) } }
        #expect(one != two)
        #expect(try PrivateDirectoryTests.mode(one) == 0o700 && PrivateDirectoryTests.mode(two) == 0o700)
    }
}
