import Foundation

/// Directories that only their owner may enter (mode 0700). Data directories and work directories hold object
/// bytes, shards and databases whose files SQLite and others create with the default mode; a private directory
/// keeps other users of the machine out whatever the modes of the files inside. (Windows: no POSIX modes; the
/// directory is only created.)
public enum PrivateDirectory {
    /// Makes `url` a private directory: creates it (missing parents with the default mode), or narrows an existing
    /// one that group or others may enter to 0700.
    public static func make(_ url: URL) throws {
        let manager = FileManager.default
        var isDirectory: ObjCBool = false
        if !manager.fileExists(atPath: url.path, isDirectory: &isDirectory) {
            try manager.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            do {
                try manager.createDirectory(at: url, withIntermediateDirectories: false,
                                            attributes: [.posixPermissions: 0o700])
                return
            } catch where manager.fileExists(atPath: url.path, isDirectory: &isDirectory) {
                // Made meanwhile by another process: narrowed below like any existing one.
            }
        }
        guard isDirectory.boolValue else { throw PrivateDirectoryError(path: url.path, reason: "it is a file, not a directory") }
        #if !os(Windows)
        let mode = try (manager.attributesOfItem(atPath: url.path)[.posixPermissions] as? NSNumber)?.uint16Value ?? 0
        guard mode & 0o077 != 0 else { return }
        do { try manager.setAttributes([.posixPermissions: 0o700], ofItemAtPath: url.path) } catch {
            throw PrivateDirectoryError(path: url.path, reason: "others may enter it and it cannot be made 0700 (chmod 700 it, "
                                        + "as its owner)")
        }
        #endif
    }

    /// A new private directory under the system's temporary directory, named `prefix` and a random name.
    public static func makeTemporary(prefix: String) throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent(prefix + UniqueName.make())
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: false, attributes: [.posixPermissions: 0o700])
        return url
    }
}

/// A path cannot be made a private directory: it is a file, or others may enter it and it cannot be narrowed.
public struct PrivateDirectoryError: Error, CustomStringConvertible {
    /// The path.
    public let path: String
    /// Why it cannot be used.
    public let reason: String

    public var description: String { "cannot use \(path) as a data directory: \(reason)" }
}
