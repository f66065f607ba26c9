import Crypto
import Foundation
import Multiformats
import SystemIO

/// Blobs as files in a content-addressed tree (`blobs/<2 hex>/<base58btc multihash>`). Writes go to
/// a temporary file that is fsynced and renamed, so a crash leaves either nothing or the whole blob.
public struct BlobStore: Sendable {
    /// Root directory.
    public let root: URL
    let temp: URL

    /// Uses (creating) `root`.
    public init(root: URL) throws {
        self.root = root
        self.temp = root.appendingPathComponent(".tmp")
        try FileManager.default.createDirectory(at: temp, withIntermediateDirectories: true)
        // Leftovers of writes interrupted by a crash are never valid blobs.
        for name in (try? FileManager.default.contentsOfDirectory(atPath: temp.path)) ?? [] {
            try? FileManager.default.removeItem(at: temp.appendingPathComponent(name))
        }
    }

    /// Where the blob with `digest` lives.
    public func url(for digest: Multihash) -> URL {
        let name = digest.description
        let last = digest.digest.last ?? 0
        let bucket = (last < 16 ? "0" : "") + String(last, radix: 16)
        return root.appendingPathComponent(bucket).appendingPathComponent(name)
    }

    /// `true` when the blob is stored.
    public func has(_ digest: Multihash) -> Bool { FileManager.default.fileExists(atPath: url(for: digest).path) }

    /// Size of a stored blob.
    public func size(of digest: Multihash) -> UInt64? {
        guard let attrs = try? FileManager.default.attributesOfItem(atPath: url(for: digest).path) else { return nil }
        return (attrs[.size] as? NSNumber)?.uint64Value
    }

    /// A writer for a new blob; nothing becomes visible until ``BlobWriter/commit()``.
    public func writer(expecting digest: Multihash, size: UInt64) throws -> BlobWriter {
        let url = temp.appendingPathComponent(UniqueName.make())
        let file: UncachedFileWriter
        do { file = try UncachedFileWriter(creating: url, permissions: 0o644) } catch { throw BlobStoreError.io("\(error)") }
        return BlobWriter(store: self, tempURL: url, file: file, digest: digest, size: size)
    }

    /// Stores `data` if it matches `digest`.
    public func put(_ data: Data, digest: Multihash) throws {
        let w = try writer(expecting: digest, size: UInt64(data.count))
        do {
            try w.write(data)
            try w.commit()
        } catch {
            w.abort()
            throw error
        }
    }

    /// Reads `length` bytes at `offset` (fewer at the end of the blob); at most 64 MiB at once.
    public func read(_ digest: Multihash, offset: UInt64, length: UInt64) throws -> Data {
        guard length <= 64 << 20 else { throw BlobStoreError.io("refusing to read \(length) bytes of \(digest) at once") }
        let handle: FileHandle
        do { handle = try FileHandle(forReadingFrom: url(for: digest)) } catch { throw BlobStoreError.notFound(digest.description) }
        defer { try? handle.close() }
        try handle.seek(toOffset: offset)
        return try handle.read(upToCount: Int(length)) ?? Data()
    }

    /// Reads the bytes of `range` on the blocking-I/O pool.
    public func readAsync(_ digest: Multihash, range: Range<UInt64>) async throws -> Data {
        try await BlockingIO.run { try read(digest, offset: range.lowerBound, length: range.upperBound - range.lowerBound) }
    }

    /// Deletes a blob (durably: its directory is fsynced).
    public func remove(_ digest: Multihash) throws {
        let file = url(for: digest)
        do { try FileManager.default.removeItem(at: file) } catch {
            guard FileManager.default.fileExists(atPath: file.path) else { return }
            throw BlobStoreError.io("cannot remove \(file.path): \(error.localizedDescription)")
        }
        try DurableFile.syncDirectory(file.deletingLastPathComponent())
    }
}

/// Streams one blob to disk (past the page cache where the system allows: blobs are stored now and read later),
/// hashing as it goes.
public final class BlobWriter: @unchecked Sendable {
    let store: BlobStore
    let tempURL: URL
    var file: UncachedFileWriter?
    let digest: Multihash
    let size: UInt64
    var hasher = SHA256()
    var written: UInt64 = 0

    init(store: BlobStore, tempURL: URL, file: UncachedFileWriter, digest: Multihash, size: UInt64) {
        self.store = store
        self.tempURL = tempURL
        self.file = file
        self.digest = digest
        self.size = size
    }

    /// Appends bytes; fails as soon as the blob grows past its declared size.
    public func write(_ data: Data) throws {
        written += UInt64(data.count)
        guard written <= size else { throw BlobStoreError.sizeMismatch(expected: size, actual: written) }
        hasher.update(data: data)
        guard let file else { throw BlobStoreError.io("the blob \(digest) was already committed or aborted") }
        try data.withUnsafeBytes { bytes in try file.write(bytes) }
    }

    /// Checks size and digest, fsyncs and moves the blob into place.
    public func commit() throws {
        guard written == size else { abort(); throw BlobStoreError.sizeMismatch(expected: size, actual: written) }
        guard digest.code == Multihash.sha256Code, Array(hasher.finalize()) == digest.digest else {
            abort()
            throw BlobStoreError.digestMismatch(digest.description)
        }
        guard let file else { throw BlobStoreError.io("the blob \(digest) was already committed or aborted") }
        self.file = nil
        try file.finish()
        let final = store.url(for: digest)
        let bucket = final.deletingLastPathComponent()
        if !FileManager.default.fileExists(atPath: bucket.path) {
            try FileManager.default.createDirectory(at: bucket, withIntermediateDirectories: true)
            try DurableFile.syncDirectory(store.root)
        }
        // rename(2) replaces atomically; the blob is content-addressed, so a concurrent identical PUT
        // that got there first holds the same bytes and both writes succeed.
        do { try DurableFile.moveIntoPlace(tempURL, final) } catch {
            try? FileManager.default.removeItem(at: tempURL)
            throw error
        }
    }

    /// Drops the partial blob.
    public func abort() {
        file = nil
        try? FileManager.default.removeItem(at: tempURL)
    }
}

/// Blob storage failures.
public enum BlobStoreError: Error, Equatable, Sendable, CustomStringConvertible {
    case notFound(String)
    case sizeMismatch(expected: UInt64, actual: UInt64)
    case digestMismatch(String)
    case io(String)

    public var description: String {
        switch self {
        case .notFound(let d): return "blob \(d) is not stored"
        case .sizeMismatch(let e, let a): return "blob has \(a) bytes, expected \(e)"
        case .digestMismatch(let d): return "blob bytes do not hash to \(d)"
        case .io(let s): return s
        }
    }
}
