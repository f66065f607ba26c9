/// UnixFS import parameters; the defaults are those of the Storacha JS client.
public struct ImportSettings: Sendable, Hashable {
    /// Fixed chunk size (1 MiB).
    public var chunkSize: Int = 1 << 20
    /// Maximum links per file node in the balanced layout (1024).
    public var fileWidth: Int = 1024
    /// A directory with more entries than this becomes a HAMT (1000).
    public var hamtThreshold: Int = 1000
    /// Drop repeated blocks (default on).
    public var dedupe: Bool = true

    /// The JS client's settings.
    public static let storacha = ImportSettings()

    /// Creates settings.
    public init(chunkSize: Int = 1 << 20, fileWidth: Int = 1024, hamtThreshold: Int = 1000, dedupe: Bool = true) {
        self.chunkSize = chunkSize
        self.fileWidth = fileWidth
        self.hamtThreshold = hamtThreshold
        self.dedupe = dedupe
    }
}

/// The link to an imported entry.
public struct UnixFSLink: Hashable, Sendable {
    /// Root CID of the entry.
    public var cid: CID
    /// Cumulative DAG size (the DAG-PB `Tsize`).
    public var dagSize: UInt64
    /// Content bytes (file size; 0 for directories).
    public var contentSize: UInt64

    /// Creates a link.
    public init(cid: CID, dagSize: UInt64, contentSize: UInt64) {
        self.cid = cid
        self.dagSize = dagSize
        self.contentSize = contentSize
    }
}

import Multiformats
