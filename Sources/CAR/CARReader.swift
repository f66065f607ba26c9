import Foundation
import Multiformats
import IPLD

/// A block read from a CAR, with where its data sits in the file.
public struct CARBlock: Sendable {
    /// The block (verified against its CID unless verification was turned off).
    public let block: Block
    /// Byte offset of the section (its varint length prefix) in the CAR.
    public let sectionOffset: Int
    /// Byte offset of the block data in the CAR.
    public let dataOffset: Int
}

/// Streams the blocks of a CAR v1, verifying each against its CID; memory holds one block at a time.
public struct CARReader<Source: ByteSource> {
    var reader: BufferedReader<Source>
    /// The parsed header.
    public let header: CARHeader
    /// Length of the header including its varint prefix.
    public let headerLength: Int
    /// Largest block this reader accepts.
    public let maxBlockSize: Int
    let verify: Bool

    /// Opens a reader and parses the header.
    public init(source: Source, maxBlockSize: Int = 32 << 20, verify: Bool = true) throws {
        var r = BufferedReader(source: source)
        guard let n = try r.varint(offsetForErrors: 0) else { throw CARError.truncatedHeader(offset: 0) }
        guard n > 0, n <= 1 << 20 else { throw CARError.invalidHeader("header length \(n) is out of range") }
        guard try r.fill(Int(n)) else { throw CARError.truncatedHeader(offset: r.consumed) }
        let body = r.take(Int(n))
        self.header = try CARHeader(body: Array(body))
        self.headerLength = r.consumed
        self.reader = r
        self.maxBlockSize = maxBlockSize
        self.verify = verify
    }

    /// The next block, or nil at the end of the CAR.
    public mutating func next() throws -> CARBlock? {
        let sectionOffset = reader.consumed
        guard let length = try reader.varint(offsetForErrors: sectionOffset) else { return nil }
        guard length > 0, length <= UInt64(maxBlockSize) + 128 else {
            throw CARError.invalidSectionLength(offset: sectionOffset, length: length)
        }
        guard try reader.fill(Int(length)) else { throw CARError.truncatedBlock(offset: sectionOffset) }
        let section = reader.take(Int(length))
        let cid: CID
        let cidLength: Int
        do {
            (cid, cidLength) = try CID.decode(prefixOf: Array(section.prefix(128)))
        } catch {
            throw CARError.invalidBlockCID(offset: sectionOffset, reason: error.description)
        }
        let data = section.subdata(in: (section.startIndex + cidLength)..<section.endIndex)
        if verify {
            switch cid.multihash.code {
            case Multihash.sha256Code, Multihash.identityCode:
                guard cid.multihash.verifies(data) else { throw CARError.hashMismatch(cid: cid.description, offset: sectionOffset) }
            default:
                throw CARError.unsupportedHash(cid: cid.description, offset: sectionOffset)
            }
        }
        let dataOffset = sectionOffset + Varint.encodedLength(length) + cidLength
        return CARBlock(block: Block(cid: cid, bytes: data), sectionOffset: sectionOffset, dataOffset: dataOffset)
    }
}

extension CARReader where Source == MemoryByteSource {
    /// Reads a whole in-memory CAR; convenient for small archives (delegations, messages, indexes).
    /// At most `maxBlocks` blocks are read (``CARError/tooManyBlocks(limit:)`` past that).
    public static func readAll(_ data: Data, maxBlockSize: Int = 32 << 20, maxBlocks: Int = 1 << 20) throws -> (header: CARHeader, blocks: [Block]) {
        var reader = try CARReader(source: MemoryByteSource(data), maxBlockSize: maxBlockSize)
        var blocks: [Block] = []
        while let b = try reader.next() {
            guard blocks.count < maxBlocks else { throw CARError.tooManyBlocks(limit: maxBlocks) }
            blocks.append(b.block)
        }
        return (reader.header, blocks)
    }
}
