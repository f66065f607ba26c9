import Foundation
import IPLD
import Multiformats
import SystemIO

extension SpaceSession {
    /// Removes an upload (`upload/remove`) and then the blobs it stored (`space/blob/remove` of each, e.g. its
    /// shards and index), so that the space's usage drops by their size. An upload already removed is no error, so
    /// that a removal interrupted halfway can simply be run again.
    public func removeUpload(_ root: CID, blobs: [CID]) async throws {
        // Fresh nonces, as for uploads: an upload removed, made again and removed again must be removed again.
        let receipt = try await invoke("upload/remove", ["root": .link(root)], nonce: UniqueName.make())
        if receipt.out.errorName != "UploadNotFound" { _ = try receipt.requireOK("upload/remove") }
        for blob in blobs {
            _ = try await invoke("space/blob/remove", ["digest": .bytes(blob.multihash.bytes)], nonce: UniqueName.make())
                .requireOK("space/blob/remove")
        }
    }
}

extension SpaceSession {
    /// Every upload in the space (`upload/list`, all pages): root and shards, in the service's order.
    public func listUploads() async throws -> [(root: CID, shards: [CID])] {
        var out: [(root: CID, shards: [CID])] = []
        var cursor: String?
        repeat {
            var nb: [String: IPLDValue] = [:]
            if let cursor { nb["cursor"] = .string(cursor) }
            let page = try await invoke("upload/list", nb, nonce: UniqueName.make()).requireOK("upload/list")
            let results = page["results"]?.listValue ?? []
            for item in results {
                guard let root = item["root"]?.linkValue else { continue }
                out.append((root, item["shards"]?.listValue?.compactMap(\.linkValue) ?? []))
            }
            cursor = results.isEmpty ? nil : page["cursor"]?.stringValue
        } while cursor != nil
        return out
    }
}
