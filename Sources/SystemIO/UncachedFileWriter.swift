import Foundation

/// Writes a new file, then fsyncs it, without copying its bytes into the page cache where the platform allows
/// (``Platform/setUncached(_:_:)``).
///
/// Bytes gather in an aligned buffer of the writer's own and go to the disk a buffer at a time; only the unaligned
/// tail goes through the cache. For large bodies stored now and read later: the kernel's copy into fresh page-cache
/// pages can cost more CPU than hashing the same bytes. Falls back to ordinary writes where uncached ones are
/// refused (when the file is opened, or by the file system at the first write). One writer is used by one thread at
/// a time (it may move between threads, as on the blocking-I/O pool).
public final class UncachedFileWriter: @unchecked Sendable {
    private let url: URL
    private let handle: FileHandle
    private let buffer: UnsafeMutableRawPointer
    private let capacity: Int
    private var filled = 0
    private var written: UInt64 = 0
    private var uncached: Bool
    private var closed = false

    /// Creates `url` (which must not exist) with `permissions`, writing `bufferSize` bytes at a time (rounded up to
    /// the alignment).
    public init(creating url: URL, permissions: UInt16 = 0o600, bufferSize: Int = 1 << 20) throws {
        self.url = url
        handle = try DurableFile.create(url, permissions: permissions)
        let alignment = Platform.directIOAlignment
        capacity = max(alignment, (bufferSize + alignment - 1) / alignment * alignment)
        buffer = UnsafeMutableRawPointer.allocate(byteCount: capacity, alignment: alignment)
        uncached = Platform.setUncached(handle.fileDescriptor, true)
    }

    deinit {
        buffer.deallocate()
        close()
    }

    /// Closes the file once (a descriptor number closed twice could be another file's by then).
    private func close() {
        guard !closed else { return }
        closed = true
        try? handle.close()
    }

    /// The bytes appended so far.
    public var count: UInt64 { written + UInt64(filled) }

    /// Appends `bytes`.
    public func write(_ bytes: UnsafeRawBufferPointer) throws {
        guard var source = bytes.baseAddress else { return }
        var left = bytes.count
        while left > 0 {
            let n = min(left, capacity - filled)
            (buffer + filled).copyMemory(from: source, byteCount: n)
            filled += n
            source += n
            left -= n
            if filled == capacity { try flush(filled) }
        }
    }

    /// Appends `bytes`.
    public func write(_ bytes: [UInt8]) throws { try bytes.withUnsafeBytes { try write($0) } }

    /// Writes what is left, fsyncs the file and closes it.
    public func finish() throws {
        let aligned = filled / Platform.directIOAlignment * Platform.directIOAlignment
        if aligned > 0 { try flush(aligned) }
        if filled > 0 {
            // Not a whole block: through the cache.
            if uncached { uncached = !Platform.setUncached(handle.fileDescriptor, false) }
            try flush(filled)
        }
        do { try handle.synchronize() } catch { throw DurableFileError(path: url.path, operation: "fsync", reason: "\(error)") }
        close()
    }

    /// Writes the buffer's first `count` bytes at the file's end and moves what follows them to the buffer's start.
    private func flush(_ count: Int) throws {
        let bytes = Data(bytesNoCopy: buffer, count: count, deallocator: .none)
        do {
            try handle.write(contentsOf: bytes)
        } catch {
            // Some file systems take the flag but refuse the write (EINVAL): the same bytes again, cached.
            guard uncached, Platform.setUncached(handle.fileDescriptor, false) else {
                throw DurableFileError(path: url.path, operation: "write", reason: "\(error)")
            }
            uncached = false
            do {
                try handle.seek(toOffset: written)
                try handle.write(contentsOf: bytes)
            } catch {
                throw DurableFileError(path: url.path, operation: "write", reason: "\(error)")
            }
        }
        written += UInt64(count)
        // Only `finish` leaves bytes after `count`: a tail shorter than the block before it, so never overlapping.
        if count < filled { buffer.copyMemory(from: buffer + count, byteCount: filled - count) }
        filled -= count
    }
}
