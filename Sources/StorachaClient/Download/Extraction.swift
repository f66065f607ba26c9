import Foundation
import IPLD
import Multiformats
import SystemIO
import UnixFS

/// Writes a UnixFS DAG (a file or a directory tree) to the file system, resumably.
///
/// Everything is written under a hidden sibling of the destination named after the CID
/// (``partialURL(for:cid:)``) and renamed to the destination only once complete. Inside it, a file
/// being written is `.<name>.storacha-part` until all its bytes are there. When a download stops on
/// a network failure, that sibling stays: the same command resumes it, skipping finished files and
/// continuing a partial file from its last byte (a byte-range read of the DAG). Content that cannot
/// be right (a block that does not verify, a malformed DAG, a missing block) removes it instead.
public struct Extraction: Sendable {
    /// Where blocks come from.
    public let exporter: UnixFSExporter

    /// Extracts through `exporter`.
    public init(exporter: UnixFSExporter) { self.exporter = exporter }

    /// What a finished extraction did.
    public struct Outcome: Sendable, Equatable {
        /// Whether an earlier, interrupted extraction was continued.
        public let resumed: Bool
        /// Bytes written by this run (not counting what an earlier run wrote).
        public let bytesWritten: UInt64
    }

    /// The hidden sibling of `destination` where an unfinished extraction of `cid` lives.
    public static func partialURL(for destination: URL, cid: CID) -> URL {
        destination.deletingLastPathComponent().appendingPathComponent(".\(destination.lastPathComponent).\(cid).storacha-partial")
    }

    static let partSuffix = ".storacha-part"

    /// Extracts `cid` to `destination`, which must not exist, resuming an earlier interrupted run.
    public func run(_ cid: CID, to destination: URL) async throws -> Outcome {
        if FileManager.default.fileExists(atPath: destination.path) { throw ExtractionError.destinationExists(destination.path) }
        let partial = Extraction.partialURL(for: destination, cid: cid)
        let resumed = FileManager.default.fileExists(atPath: partial.path)
        let counter = ByteCounter()
        do {
            try await extract(cid, to: partial, counter: counter)
            try FileManager.default.moveItem(at: partial, to: destination)
        } catch {
            guard Extraction.canResume(after: error) else {
                try? FileManager.default.removeItem(at: partial)
                throw error
            }
            throw ExtractionError.interrupted(partial: partial.path, reason: "\(error)")
        }
        return Outcome(resumed: resumed, bytesWritten: await counter.total)
    }

    /// Whether a failure leaves a partial extraction worth resuming (the network failed, not the content).
    static func canResume(after error: Error) -> Bool {
        switch error {
        case ClientError.network: return true
        case ClientError.http(let status, _): return status >= 500 || status == 429
        default: return false
        }
    }

    func extract(_ cid: CID, to url: URL, counter: ByteCounter) async throws {
        let entry = try await exporter.stat(cid)
        switch entry.kind {
        case .directory:
            var isDirectory: ObjCBool = false
            if !FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory) {
                try FileManager.default.createDirectory(at: url, withIntermediateDirectories: false)
            } else if !isDirectory.boolValue {
                throw ExtractionError.unexpectedFile(url.path)
            }
            for child in try await exporter.list(cid) {
                guard !child.name.isEmpty, child.name != ".", child.name != "..", !child.name.contains("/") else {
                    throw ExtractionError.unsafeName(child.name, in: cid.description)
                }
                try await extract(child.cid, to: url.appendingPathComponent(child.name), counter: counter)
            }
        case .file, .raw:
            // A finished file has its own name; an unfinished one continues from its last byte.
            if FileManager.default.fileExists(atPath: url.path) { return }
            let part = url.deletingLastPathComponent().appendingPathComponent(".\(url.lastPathComponent)\(Extraction.partSuffix)")
            let handle = try await BlockingIO.run { try Extraction.openPart(part, size: entry.size) }
            do {
                let have = try handle.offsetInFile
                try await exporter.read(cid, range: have..<entry.size) { data in
                    try await BlockingIO.run { try handle.write(contentsOf: data) }
                    await counter.add(UInt64(data.count))
                }
                // No fsync: a download's bytes can be fetched again, and a killed process loses nothing written.
                try await BlockingIO.run {
                    try handle.close()
                    try FileManager.default.moveItem(at: part, to: url)
                }
            } catch {
                try? handle.close()
                throw error
            }
        case .symlink:
            throw ExtractionError.symlink(cid.description)
        }
    }

    /// Opens (or creates) a part file positioned at its end; one longer than the file is started again.
    static func openPart(_ part: URL, size: UInt64) throws -> FileHandle {
        if !FileManager.default.fileExists(atPath: part.path) {
            guard FileManager.default.createFile(atPath: part.path, contents: nil) else { throw ExtractionError.cannotCreate(part.path) }
        }
        let handle = try FileHandle(forWritingTo: part)
        if try handle.seekToEnd() > size {
            try handle.truncate(atOffset: 0)
        }
        return handle
    }

    actor ByteCounter {
        var total: UInt64 = 0
        func add(_ n: UInt64) { total += n }
    }
}

/// Why an extraction failed, with the path concerned.
public enum ExtractionError: Error, Equatable, Sendable, CustomStringConvertible {
    case destinationExists(String)
    case unexpectedFile(String)
    case unsafeName(String, in: String)
    case symlink(String)
    case cannotCreate(String)
    case interrupted(partial: String, reason: String)

    public var description: String {
        switch self {
        case .destinationExists(let p): return "\(p) already exists; choose another --output"
        case .unexpectedFile(let p): return "\(p) is a file where the download needs a directory"
        case .unsafeName(let n, let cid): return "refusing unsafe entry name \"\(n)\" in \(cid)"
        case .symlink(let cid): return "symlinks are not supported (\(cid))"
        case .cannotCreate(let p): return "cannot create \(p)"
        case .interrupted(let partial, let reason):
            return "\(reason); what was fetched is kept in \(partial): run the same command again to resume"
        }
    }
}
