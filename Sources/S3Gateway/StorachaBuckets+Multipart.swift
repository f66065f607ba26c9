import Foundation
import S3Protocol
import SystemIO

/// Multipart uploads: parts are kept as fsynced files under `DATA/multipart/<upload>/`, recorded in the
/// index; completing moves the listed parts, in order, into a directory that becomes the object's local
/// copy (``LocalCopy``), with S3's multipart ETag: no byte is copied.
extension StorachaBuckets {
    /// S3's smallest part, except the last.
    static let minimumPart: UInt64 = 5 << 20

    func pendingUpload(_ id: String, bucket: String, key: String, accessKey: String) async throws -> ObjectIndex.Upload {
        try await authorize(bucket, accessKey)
        guard let upload = try await index.upload(id), upload.bucket == bucket, upload.key == key else {
            throw S3Error("NoSuchUpload", status: 404, "The specified multipart upload does not exist.")
        }
        return upload
    }

    func partFile(_ upload: String, _ part: Int) -> URL {
        parts.appendingPathComponent(upload).appendingPathComponent(String(part))
    }

    /// rclone's uploads without their MD5 get it computed (``ObjectChecksums``); other clients' objects keep the
    /// metadata they were sent with.
    public func createMultipartUpload(_ bucket: String, key: String, contentType: String, metadata: [String: String],
                                      userAgent: String?, accessKey: String) async throws -> String {
        try await authorize(bucket, accessKey)
        let id = UniqueName.make().replacingOccurrences(of: "-", with: "").lowercased()
        try FileManager.default.createDirectory(at: parts.appendingPathComponent(id), withIntermediateDirectories: true)
        let addMD5 = ObjectChecksums.wanted(metadata: metadata, userAgent: userAgent)
        try await index.createUpload(.init(id: id, bucket: bucket, key: key, contentType: contentType, metadata: metadata, initiated: Date(),
                                           addMD5: addMD5))
        return id
    }

    public func uploadPart(_ bucket: String, key: String, uploadID: String, part: Int, body: S3UploadBody,
                           accessKey: String) async throws -> String {
        _ = try await pendingUpload(uploadID, bucket: bucket, key: key, accessKey: accessKey)
        return try await receivePart(uploadID, part) { temp in
            let size = try await IncomingBody.receive(body, into: temp)
            guard let md5 = body.md5 else { throw S3Error("IncompleteBody", status: 400, "the body was not read to its end") }
            return (size, md5)
        }
    }

    public func uploadPartCopy(_ bucket: String, key: String, uploadID: String, part: Int, from: (bucket: String, key: String),
                               range: Range<UInt64>?, accessKey: String) async throws -> String {
        _ = try await pendingUpload(uploadID, bucket: bucket, key: key, accessKey: accessKey)
        let source = try await getObject(from.bucket, key: from.key, range: range, accessKey: accessKey)
        return try await receivePart(uploadID, part) { temp in try await IncomingBody.receive(source.bytes, into: temp) }
    }

    /// Receives a part into a temporary file with `receive`, then moves it into place and records it (a part
    /// sent again replaces the earlier one); returns its ETag.
    func receivePart(_ upload: String, _ part: Int, _ receive: (URL) async throws -> (size: UInt64, md5: [UInt8])) async throws -> String {
        let temp = incoming.appendingPathComponent(UniqueName.make())
        do {
            let (size, md5) = try await receive(temp)
            let etag = SigV4.hex(md5)
            let target = partFile(upload, part)
            try await BlockingIO.run { try DurableFile.moveIntoPlace(temp, target) }
            try await index.putPart(upload, S3PartInfo(part: part, etag: etag, size: size, lastModified: Date()))
            return etag
        } catch {
            try? FileManager.default.removeItem(at: temp)
            throw error
        }
    }

    public func listParts(_ bucket: String, key: String, uploadID: String, accessKey: String) async throws -> [S3PartInfo] {
        _ = try await pendingUpload(uploadID, bucket: bucket, key: key, accessKey: accessKey)
        return try await index.parts(uploadID)
    }

    public func completeMultipartUpload(_ bucket: String, key: String, uploadID: String, parts wanted: [(part: Int, etag: String)],
                                        accessKey: String) async throws -> S3ObjectInfo {
        let upload = try await pendingUpload(uploadID, bucket: bucket, key: key, accessKey: accessKey)
        guard !wanted.isEmpty else { throw S3Error("MalformedXML", status: 400, "The part list is empty") }
        let stored = Dictionary(try await index.parts(uploadID).map { ($0.part, $0) }, uniquingKeysWith: { $1 })
        guard zip(wanted, wanted.dropFirst()).allSatisfy({ $0.part < $1.part }) else {
            throw S3Error("InvalidPartOrder", status: 400, "The list of parts was not in ascending order.")
        }
        var chosen: [S3PartInfo] = []
        for (i, item) in wanted.enumerated() {
            guard let part = stored[item.part], part.etag == item.etag.lowercased() else {
                throw S3Error("InvalidPart", status: 400, "One or more of the specified parts could not be found or its ETag did not match.")
            }
            if i < wanted.count - 1 && part.size < StorachaBuckets.minimumPart {
                throw S3Error("EntityTooSmall", status: 400, "Your proposed upload is smaller than the minimum allowed object size.")
            }
            chosen.append(part)
        }
        // The object's local copy is its parts, in order, in a directory of their own: nothing is copied.
        let directory = incoming.appendingPathComponent(UniqueName.make())
        let picked = chosen
        do {
            let size = try await BlockingIO.run { [self] () throws -> UInt64 in
                try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: false)
                var size: UInt64 = 0
                for (i, part) in picked.enumerated() {
                    try FileManager.default.moveItem(at: partFile(uploadID, part.part), to: directory.appendingPathComponent(LocalCopy.partName(i)))
                    size += part.size
                }
                try DurableFile.syncDirectory(directory)
                return size
            }
            let etag = StorachaBuckets.multipartETag(chosen.map(\.etag))
            let info = try await store(.file(directory), size: size, bucket: bucket, key: key, etag: etag, contentType: upload.contentType,
                                       metadata: upload.metadata, addMD5: upload.addMD5)
            try await index.removeUpload(uploadID)
            try? FileManager.default.removeItem(at: parts.appendingPathComponent(uploadID))
            return info
        } catch {
            try? FileManager.default.removeItem(at: directory)
            throw error
        }
    }

    public func abortMultipartUpload(_ bucket: String, key: String, uploadID: String, accessKey: String) async throws {
        _ = try await pendingUpload(uploadID, bucket: bucket, key: key, accessKey: accessKey)
        try await index.removeUpload(uploadID)
        try? FileManager.default.removeItem(at: parts.appendingPathComponent(uploadID))
    }

    public func listMultipartUploads(_ bucket: String, accessKey: String) async throws -> [S3MultipartInfo] {
        try await authorize(bucket, accessKey, .read)
        return try await index.uploads(bucket: bucket).map { S3MultipartInfo(key: $0.key, uploadID: $0.id, initiated: $0.initiated) }
    }
}
