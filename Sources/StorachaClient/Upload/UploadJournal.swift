import Crypto
import Foundation
import Multiformats
import SystemIO
import UCAN

/// What an agent knows it has stored: one line per shard the service acknowledged (accepted and, for
/// shards of 127 bytes or more, its piece offered), appended and fsynced at once, per service and
/// space. A re-run of an interrupted upload skips those shards after one cheap check that the space
/// still holds each (`space/blob/get/0/1`), so a removed shard is simply stored again.
public final class UploadJournal: @unchecked Sendable {
    /// A journalled shard.
    public struct Entry: Sendable, Equatable {
        /// The shard CID.
        public let shard: CID
        /// Its size.
        public let size: UInt64
        /// Its piece CID, if one was offered.
        public let piece: CID?
    }

    /// The journal file.
    public let url: URL
    private let lock = NSLock()
    private var entries: [CID: Entry] = [:]

    /// The journal of `space` on the service `service`, under `directory`.
    public init(directory: URL, service: DID, space: DID) throws {
        let name = SHA256.hash(data: Data("\(service.string) \(space.string)".utf8)).map { String(format: "%02x", $0) }.joined()
        url = directory.appendingPathComponent(String(name.prefix(32)) + ".jsonl")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        guard let text = try? String(contentsOf: url, encoding: .utf8) else { return }
        // A line cut short by a crash is ignored; every other line is one entry.
        for line in text.split(separator: "\n") {
            guard let value = try? JSONValue.parse(Data(line.utf8)), let shardText = value["shard"]?.stringValue,
                  let shard = try? CID(shardText), case .integer(let size)? = value["size"], size >= 0 else { continue }
            let piece = value["piece"]?.stringValue.flatMap { try? CID($0) }
            entries[shard] = Entry(shard: shard, size: UInt64(size), piece: piece)
        }
    }

    /// The default directory: `$XDG_DATA_HOME/storacha/uploads` (else `~/.local/share/storacha/uploads`).
    public static func defaultDirectory(_ environment: [String: String]) -> URL {
        if let xdg = environment["XDG_DATA_HOME"], !xdg.isEmpty { return URL(fileURLWithPath: xdg).appendingPathComponent("storacha/uploads") }
        let home = environment["HOME"].flatMap { $0.isEmpty ? nil : $0 } ?? NSHomeDirectory()
        return URL(fileURLWithPath: home).appendingPathComponent(".local/share/storacha/uploads")
    }

    /// The entry for `shard`, if it was stored before.
    public func entry(_ shard: CID) -> Entry? { lock.withLock { entries[shard] } }

    /// Records a stored shard (appended and fsynced before returning).
    public func record(_ entry: Entry) throws {
        var members: [(String, JSONValue)] = [("shard", .string(entry.shard.description)), ("size", .integer(Int64(entry.size)))]
        if let piece = entry.piece { members.append(("piece", .string(piece.description))) }
        let line = Data((JSONValue.object(members).serialized() + "\n").utf8)
        try lock.withLock {
            if !FileManager.default.fileExists(atPath: url.path) {
                guard FileManager.default.createFile(atPath: url.path, contents: nil, attributes: [.posixPermissions: 0o600]) else {
                    throw JournalError(description: "cannot create the upload journal \(url.path)")
                }
                try DurableFile.syncDirectory(url.deletingLastPathComponent())
            }
            let handle = try FileHandle(forWritingTo: url)
            defer { try? handle.close() }
            try handle.seekToEnd()
            try handle.write(contentsOf: line)
            try handle.synchronize()
            entries[entry.shard] = entry
        }
    }
}

/// The upload journal could not be written.
public struct JournalError: Error, CustomStringConvertible, Sendable {
    /// What failed.
    public let description: String
}
