import Foundation

/// One page of a listing with `prefix` and `delimiter`, as ListObjects V1 and V2 define it: keys and
/// common prefixes in byte order, at most `maxKeys` of them together.
struct S3Listing {
    var contents: [S3ObjectInfo] = []
    var prefixes: [String] = []
    var truncated = false
    /// The last key or common prefix on the page (the next page starts after it).
    var last: String?

    /// Reads the page from `backend`, starting after `start` (a key or a common prefix).
    static func page(_ backend: any S3Backend, bucket: String, prefix: String, delimiter: String?, start: String?, maxKeys: Int,
                     accessKey: String) async throws -> S3Listing {
        var page = S3Listing()
        var after = start
        let batchSize = 1000
        fetching: while true {
            let batch = try await backend.listObjects(bucket, prefix: prefix, after: after, limit: batchSize, accessKey: accessKey)
            for object in batch {
                after = object.key
                var entryPrefix: String?
                if let delimiter, !delimiter.isEmpty {
                    let rest = object.key.utf8.dropFirst(prefix.utf8.count)
                    if let range = String(decoding: rest, as: UTF8.self).range(of: delimiter) {
                        entryPrefix = prefix + String(decoding: rest, as: UTF8.self)[..<range.upperBound]
                    }
                }
                if let common = entryPrefix {
                    // A prefix already on this page, or the one a previous page ended with.
                    if common == page.prefixes.last || (start.map { !precedes($0, common) } ?? false) { continue }
                    guard page.contents.count + page.prefixes.count < maxKeys else { page.truncated = true; return page }
                    page.prefixes.append(common)
                    page.last = common
                    // Jump past the keys under it.
                    after = common + "\u{10FFFF}"
                    continue fetching
                } else {
                    guard page.contents.count + page.prefixes.count < maxKeys else { page.truncated = true; return page }
                    page.contents.append(object)
                    page.last = object.key
                }
            }
            if batch.count < batchSize { return page }
        }
    }

    /// Whether `a` comes before `b` in UTF-8 byte order (S3's order).
    static func precedes(_ a: String, _ b: String) -> Bool { a.utf8.lexicographicallyPrecedes(b.utf8) }
}
