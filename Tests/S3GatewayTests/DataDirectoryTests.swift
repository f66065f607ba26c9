import Foundation
import Testing
import TestSupport

/// What `serve s3 --local` keeps on disk (object bytes in the index and the local copies, the local network's
/// blobs and database) is in directories only its owner may enter.
@Suite struct DataDirectoryTests {
    static func mode(_ url: URL) throws -> Int? {
        (try FileManager.default.attributesOfItem(atPath: url.path)[.posixPermissions] as? NSNumber)?.intValue
    }

    @Test func theGatewayAndTheLocalNetworkKeepTheirDataPrivate() async throws {
        let home = try makeTempDir()
        defer { try? FileManager.default.removeItem(at: home) }
        // A --data directory that exists with the usual 0755 is narrowed.
        let data = home.appendingPathComponent("gateway-data")
        try FileManager.default.createDirectory(at: data, withIntermediateDirectories: false, attributes: [.posixPermissions: 0o755])
        let gateway = try await GatewayProcess.start(home: home, arguments: ["--data", data.path])
        defer { gateway.stop() }
        #expect(gateway.data.standardizedFileURL.path == data.standardizedFileURL.path)
        #expect(try DataDirectoryTests.mode(data) == 0o700)
        let local = home.appendingPathComponent(".local/share/storacha/local")
        #expect(FileManager.default.fileExists(atPath: local.appendingPathComponent("service.sqlite").path))
        #expect(try DataDirectoryTests.mode(local) == 0o700)
    }
}
