import Foundation

/// Writes that survive a crash: the bytes go to a temporary file in the destination's directory,
/// are fsynced, renamed over the destination (atomically replacing it) and the directory is fsynced,
/// so after `kill -9` or a power cut the file is either the old one or the whole new one.
public enum DurableFile {
    /// Atomically replaces `url` with `data`; `permissions` (e.g. `0o600`) applies from creation on.
    public static func write(_ data: Data, to url: URL, permissions: UInt16 = 0o644) throws {
        let directory = url.deletingLastPathComponent()
        let temp = directory.appendingPathComponent(".\(url.lastPathComponent).\(UniqueName.make()).tmp")
        guard FileManager.default.createFile(atPath: temp.path, contents: nil, attributes: [.posixPermissions: permissions]) else {
            throw DurableFileError(path: temp.path, operation: "create")
        }
        do {
            let handle = try FileHandle(forWritingTo: temp)
            defer { try? handle.close() }
            try handle.write(contentsOf: data)
            try handle.synchronize()
        } catch {
            try? FileManager.default.removeItem(at: temp)
            throw DurableFileError(path: temp.path, operation: "write", reason: "\(error)")
        }
        do { try moveIntoPlace(temp, url) } catch {
            try? FileManager.default.removeItem(at: temp)
            throw error
        }
    }

    /// Renames the (already fsynced) file at `source` to `destination`, replacing whatever is there,
    /// then fsyncs the destination directory so that the rename itself is durable (unless `syncDirectory`
    /// is false: the caller then syncs the directory once for several renames, before relying on them).
    public static func moveIntoPlace(_ source: URL, _ destination: URL, syncDirectory sync: Bool = true) throws {
        if let reason = Platform.rename(source.path, destination.path) {
            throw DurableFileError(path: destination.path, operation: "rename", reason: reason)
        }
        if sync { try syncDirectory(destination.deletingLastPathComponent()) }
    }

    /// Creates the new file `url` (it must not exist yet) for writing, with `permissions` from creation on.
    public static func create(_ url: URL, permissions: UInt16 = 0o600) throws -> FileHandle {
        try Platform.createExclusive(url.path, permissions: permissions)
    }

    /// Flushes a directory's entries (new, renamed or removed files) to disk.
    public static func syncDirectory(_ url: URL) throws {
        if let reason = Platform.syncDirectory(url.path) {
            throw DurableFileError(path: url.path, operation: "fsync", reason: reason)
        }
    }
}

/// A file operation that failed, with the path and the system's reason.
public struct DurableFileError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The file or directory.
    public let path: String
    /// What was being done: `create`, `write`, `rename`, `fsync`.
    public let operation: String
    /// The system's reason, when known.
    public var reason: String = ""

    public var description: String { "cannot \(operation) \(path)" + (reason.isEmpty ? "" : ": \(reason)") }
}
