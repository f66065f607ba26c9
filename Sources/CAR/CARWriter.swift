import Foundation
import Multiformats
import IPLD

/// Encodes CAR v1 bytes.
public enum CAREncoder {
    /// The section bytes for one block: `varint(len(cid)+len(data)) ‖ cid`, to be followed by the data.
    public static func sectionPrefix(_ cid: CID, dataLength: Int) -> [UInt8] {
        var out = Varint.encode(UInt64(cid.bytes.count + dataLength))
        out.append(contentsOf: cid.bytes)
        return out
    }

    /// Total encoded length of a block's section.
    public static func sectionLength(cidLength: Int, dataLength: Int) -> Int {
        Varint.encodedLength(UInt64(cidLength + dataLength)) + cidLength + dataLength
    }

    /// A whole CAR in memory (for small archives: delegations, messages, indexes).
    public static func encode(roots: [CID], blocks: [Block]) -> Data {
        var out = Data(CARHeader(roots: roots).bytes)
        for b in blocks {
            out.append(contentsOf: sectionPrefix(b.cid, dataLength: b.bytes.count))
            out.append(b.bytes)
        }
        return out
    }
}

/// Writes a CAR v1 to a file as blocks arrive.
public final class CARFileWriter {
    let handle: FileHandle
    /// Bytes written so far.
    public private(set) var length: Int

    /// Creates (or truncates) `url` and writes the header.
    public init(url: URL, roots: [CID]) throws {
        guard FileManager.default.createFile(atPath: url.path, contents: nil) else {
            throw CARError.io("cannot create \(url.path)")
        }
        handle = try FileHandle(forWritingTo: url)
        let header = CARHeader(roots: roots).bytes
        try handle.write(contentsOf: header)
        length = header.count
    }

    /// Appends one block.
    public func write(_ block: Block) throws {
        let prefix = CAREncoder.sectionPrefix(block.cid, dataLength: block.bytes.count)
        try handle.write(contentsOf: prefix)
        try handle.write(contentsOf: block.bytes)
        length += prefix.count + block.bytes.count
    }

    /// Flushes to stable storage and closes the file.
    public func close() throws {
        try handle.synchronize()
        try handle.close()
    }
}
