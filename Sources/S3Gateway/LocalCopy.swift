import Foundation
import S3Protocol
import SystemIO
import UnixFS

/// An object's local copy: one file, or for a multipart object a directory of its parts (`000001`, …) read
/// one after another; or, for a small object, its bytes in the index (``isInline(_:)``).
enum LocalCopy {
    /// A name for a copy the index keeps itself (a small body, see ``IncomingBody/inlineLimit``).
    static func inlineName() -> String { "db:" + UniqueName.make() }

    /// Whether the copy `name` is kept in the index rather than in the cache directory.
    static func isInline(_ name: String) -> Bool { name.hasPrefix("db:") }

    static func partName(_ index: Int) -> String {
        let digits = String(index + 1)
        return String(repeating: "0", count: max(0, 6 - digits.count)) + digits
    }

    /// The files of the copy at `url`, in order, with their sizes.
    static func files(_ url: URL) throws -> [(url: URL, size: UInt64)] {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory) else {
            throw S3Error("InternalError", status: 500, "the local copy \(url.lastPathComponent) is missing")
        }
        let urls = isDirectory.boolValue
            ? try FileManager.default.contentsOfDirectory(atPath: url.path).sorted().map { url.appendingPathComponent($0) }
            : [url]
        return try urls.map { u in
            let size = (try FileManager.default.attributesOfItem(atPath: u.path)[.size] as? NSNumber)?.uint64Value ?? 0
            return (u, size)
        }
    }

    /// What the upload queue packs.
    static func content(_ url: URL) throws -> ImportFile.Content {
        let parts = try files(url)
        return parts.count == 1 && parts[0].url == url ? .file(url) : .files(parts.map(\.url))
    }

    /// A second name for the same bytes (hard links), for a copied object.
    static func link(_ source: URL, to target: URL) throws {
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: source.path, isDirectory: &isDirectory), isDirectory.boolValue {
            try FileManager.default.createDirectory(at: target, withIntermediateDirectories: false)
            for name in try FileManager.default.contentsOfDirectory(atPath: source.path) {
                try FileManager.default.linkItem(at: source.appendingPathComponent(name), to: target.appendingPathComponent(name))
            }
            try DurableFile.syncDirectory(target)
        } else {
            try FileManager.default.linkItem(at: source, to: target)
        }
    }

    /// The bytes of `range` of the copy, read in 1 MiB pieces on the blocking-I/O pool.
    /// `lease` (if any) is held until the stream is done with or dropped.
    static func stream(_ url: URL, range: Range<UInt64>, holding lease: (any Sendable)? = nil) -> S3ByteStream {
        var offset = range.lowerBound
        let end = range.upperBound
        var parts: [(url: URL, size: UInt64)]?
        return S3ByteStream(unfolding: {
            withExtendedLifetime(lease) {}
            guard offset < end else { return nil }
            if parts == nil { parts = try await BlockingIO.run { try files(url) } }
            // The part holding `offset`, and where in it.
            var partStart: UInt64 = 0
            var found: (url: URL, size: UInt64)?
            for p in parts ?? [] {
                if offset < partStart + p.size { found = p; break }
                partStart += p.size
            }
            guard let part = found else {
                throw S3Error("InternalError", status: 500, "the local copy of an object is shorter than its size")
            }
            let (from, count) = (offset - partStart, Int(min(end - offset, partStart + part.size - offset, 1 << 20)))
            let data = try await BlockingIO.run { () throws -> Data in
                let handle = try FileHandle(forReadingFrom: part.url)
                defer { try? handle.close() }
                try handle.seek(toOffset: from)
                return try handle.read(upToCount: count) ?? Data()
            }
            guard !data.isEmpty else { throw S3Error("InternalError", status: 500, "the local copy of an object is shorter than its size") }
            offset += UInt64(data.count)
            return Array(data)
        })
    }
}
