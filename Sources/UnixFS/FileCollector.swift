import Foundation

/// Expands command-line paths into import files exactly as `files-from-path` does for `storacha up`:
/// regular files only (symlinks inside directories are skipped), dot-files skipped unless `hidden`,
/// names relative to the common parent directory of all files, sorted by name.
public enum FileCollector {
    /// Collects the files under `paths`.
    public static func collect(paths: [String], hidden: Bool, currentDirectory: String = FileManager.default.currentDirectoryPath) throws -> [ImportFile] {
        var found: [(components: [String], url: URL, size: UInt64)] = []
        for path in paths {
            let absolute = path.hasPrefix("/") ? path : currentDirectory + "/" + path
            let url = URL(fileURLWithPath: absolute).standardizedFileURL
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory) else {
                throw UnixFSError.io("no such file or directory: \(path)")
            }
            if !hidden && url.lastPathComponent.hasPrefix(".") && url.path != "/" { continue }
            if isDirectory.boolValue {
                try walk(url, hidden: hidden, into: &found)
            } else {
                found.append((components(of: url), url, try size(of: url)))
            }
        }
        guard var common = found.first.map({ Array($0.components.dropLast()) }) else { return [] }
        for f in found.dropFirst() {
            var i = 0
            while i < common.count && i < f.components.count - 1 && common[i] == f.components[i] { i += 1 }
            common = Array(common.prefix(i))
        }
        let files = found.map { f in
            ImportFile(name: f.components.dropFirst(common.count).joined(separator: "/"), size: f.size, content: .file(f.url))
        }
        return files.sorted { DirectoryImporter.jsOrder($0.name, $1.name) }
    }

    static func components(of url: URL) -> [String] {
        url.path.split(separator: "/", omittingEmptySubsequences: true).map(String.init)
    }

    static func size(of url: URL) throws -> UInt64 {
        let attrs = try FileManager.default.attributesOfItem(atPath: url.path)
        return (attrs[.size] as? NSNumber)?.uint64Value ?? 0
    }

    static func walk(_ dir: URL, hidden: Bool, into found: inout [(components: [String], url: URL, size: UInt64)]) throws {
        let names: [String]
        do { names = try FileManager.default.contentsOfDirectory(atPath: dir.path) } catch {
            throw UnixFSError.io("cannot read directory \(dir.path): \(error.localizedDescription)")
        }
        for name in names.sorted() {
            if !hidden && name.hasPrefix(".") { continue }
            let url = dir.appendingPathComponent(name)
            let attrs = try FileManager.default.attributesOfItem(atPath: url.path)  // does not follow symlinks
            switch attrs[.type] as? FileAttributeType {
            case .typeRegular?:
                found.append((components(of: url), url, (attrs[.size] as? NSNumber)?.uint64Value ?? 0))
            case .typeDirectory?:
                try walk(url, hidden: hidden, into: &found)
            default:
                continue
            }
        }
    }
}
