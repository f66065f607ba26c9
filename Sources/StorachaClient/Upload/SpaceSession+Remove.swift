import Multiformats

extension SpaceSession {
    /// Removes an upload (`upload/remove`) and then the blobs it stored (`space/blob/remove` of each, e.g. its
    /// shards and index), so that the space's usage drops by their size.
    public func removeUpload(_ root: CID, blobs: [CID]) async throws {
        _ = try await invoke("upload/remove", ["root": .link(root)]).requireOK("upload/remove")
        for blob in blobs {
            _ = try await invoke("space/blob/remove", ["digest": .bytes(blob.multihash.bytes)]).requireOK("space/blob/remove")
        }
    }
}
