import Foundation

/// A source of bytes read sequentially (a file, a pipe, memory).
public protocol ByteSource {
    /// Reads up to `maxLength` bytes; returns an empty array at the end.
    mutating func read(upTo maxLength: Int) throws -> Data
}

/// Reads a file through `FileHandle`.
public struct FileByteSource: ByteSource {
    let handle: FileHandle

    /// Wraps an open handle; the caller keeps ownership.
    public init(handle: FileHandle) { self.handle = handle }

    public mutating func read(upTo maxLength: Int) throws -> Data {
        try handle.read(upToCount: maxLength) ?? Data()
    }
}

/// Serves bytes from memory.
public struct MemoryByteSource: ByteSource {
    let data: Data
    var position: Int

    /// Wraps `data`.
    public init(_ data: Data) {
        self.data = data
        self.position = data.startIndex
    }

    public mutating func read(upTo maxLength: Int) throws -> Data {
        let end = min(data.endIndex, position + maxLength)
        defer { position = end }
        return data[position..<end]
    }
}

/// A buffered reader that hands out exact byte counts from a ``ByteSource``.
struct BufferedReader<Source: ByteSource> {
    var source: Source
    var buffer = Data()
    var position = 0
    /// Bytes consumed so far.
    var consumed = 0
    var atEOF = false
    let chunkSize: Int

    init(source: Source, chunkSize: Int = 1 << 20) {
        self.source = source
        self.chunkSize = chunkSize
    }

    /// Ensures at least `n` unread bytes are buffered; returns false when the source ends first.
    mutating func fill(_ n: Int) throws -> Bool {
        while buffer.count - position < n {
            if atEOF { return false }
            if position > 0 {
                buffer = buffer.subdata(in: (buffer.startIndex + position)..<buffer.endIndex)
                position = 0
            }
            let chunk = try source.read(upTo: max(chunkSize, n - buffer.count))
            if chunk.isEmpty { atEOF = true } else { buffer.append(chunk) }
        }
        return true
    }

    /// `true` when no bytes remain.
    mutating func isAtEnd() throws -> Bool { try !fill(1) }

    /// The next unread byte at `index` past the position, if buffered (call `fill` first).
    func peek(_ index: Int) -> UInt8 { buffer[buffer.startIndex + position + index] }

    /// Takes `n` bytes.
    mutating func take(_ n: Int) -> Data {
        let start = buffer.startIndex + position
        position += n
        consumed += n
        return buffer.subdata(in: start..<(start + n))
    }

    /// Reads a multiformats varint; returns nil at a clean end of input.
    mutating func varint(offsetForErrors: Int) throws -> UInt64? {
        guard try fill(1) else { return nil }
        var value: UInt64 = 0
        var shift: UInt64 = 0
        var i = 0
        while true {
            guard try fill(i + 1) else { throw CARError.truncatedBlock(offset: offsetForErrors) }
            let byte = peek(i)
            i += 1
            if i > 9 { throw CARError.invalidSectionLength(offset: offsetForErrors, length: value) }
            value |= UInt64(byte & 0x7f) << shift
            if byte & 0x80 == 0 {
                if i > 1 && byte == 0 { throw CARError.invalidSectionLength(offset: offsetForErrors, length: value) }
                break
            }
            shift += 7
        }
        position += i
        consumed += i
        return value
    }
}
