import ArgumentParser
import Foundation
import SystemIO
import UnixFS

/// `storacha cid`: the root CID `storacha up` would give, computed locally.
struct CIDCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cid",
        abstract: "Print the root CID that `storacha up` would give these paths, writing nothing."
    )

    @Argument(help: "Files or directories.")
    var paths: [String]

    @OptionGroup var encode: EncodeOptions

    func run() async throws {
        try await userFacing {
            let files = try encode.collect(paths)
            let options = PackOptions(wrap: !encode.noWrap)
            let root = try await BlockingIO.runOnOwnThread { try Packer.rootCID(files, options: options) }
            print(root)
        }
    }
}
