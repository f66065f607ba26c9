import Foundation
import GRDB
import S3Protocol
import StorachaClient

/// How rows and their JSON columns (metadata, shard lists) become records and back.
extension ObjectIndex {
    static func record(_ row: Row) throws -> ObjectRecord {
        let metadata = try ObjectIndex.stringMap(row["metadata"])
        let shards = try ObjectIndex.stringList(row["shards"])
        let info = S3ObjectInfo(key: row["key"], size: UInt64(row["size"] as Int64), etag: row["etag"],
                                lastModified: Date(timeIntervalSince1970: row["modified"]), contentType: row["contentType"], metadata: metadata)
        return ObjectRecord(info: info, root: row["root"], shards: shards, cacheFile: row["cacheFile"], pending: row["pending"],
                            addMD5: row["addMD5"])
    }

    /// A JSON object of strings (sorted by key), as the index keeps metadata.
    static func json(_ strings: [String: String]) -> String {
        JSONValue.object(strings.sorted { $0.key < $1.key }.map { ($0.key, .string($0.value)) }).serialized()
    }

    /// A JSON array of strings, as the index keeps shard lists.
    static func json(_ strings: [String]) -> String { JSONValue.array(strings.map { .string($0) }).serialized() }

    /// The members of a JSON object of strings (a metadata column).
    static func stringMap(_ text: String) throws -> [String: String] {
        guard case .object(let members) = try JSONValue.parse(Data(text.utf8)) else { throw IndexCorrupt("metadata is not an object: \(text)") }
        return try Dictionary(members.map { ($0.0, try string($0.1, in: text)) }, uniquingKeysWith: { $1 })
    }

    /// The elements of a JSON array of strings (a shards column).
    static func stringList(_ text: String) throws -> [String] {
        guard case .array(let elements) = try JSONValue.parse(Data(text.utf8)) else { throw IndexCorrupt("a shard list is not an array: \(text)") }
        return try elements.map { try string($0, in: text) }
    }

    private static func string(_ value: JSONValue, in text: String) throws -> String {
        guard let s = value.stringValue else { throw IndexCorrupt("a metadata or shard value is not a string: \(text)") }
        return s
    }
}

/// The index holds something this version cannot read.
struct IndexCorrupt: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = "the gateway's index is damaged: " + description }
}
