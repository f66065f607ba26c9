import CAR
import Foundation
import HTTPTypes
import Hummingbird
import IPLD
import Multiformats
import UnixFS

/// The trustless gateway: `GET`/`HEAD /ipfs/<cid>[/path]` serving UnixFS files (with `Range`),
/// directory listings (HTML, or JSON on request), `?format=raw` blocks, `?format=car` DAGs
/// (`dag-scope`, `entity-bytes`), and CAR-codec CIDs as the stored shard bytes.
struct GatewayHandler {
    let service: UploadService

    var source: IndexedBlockSource { IndexedBlockSource(store: service.store, blobs: service.blobs) }

    func respond(_ request: Request, path: String) async -> Response {
        let segments = path.split(separator: "/", omittingEmptySubsequences: true).map { $0.removingPercentEncoding ?? String($0) }
        guard let first = segments.first, let root = try? CID(first) else { return text(.badRequest, "invalid CID in the path") }
        let inner = segments.dropFirst().joined(separator: "/")
        let format = request.uri.queryParameters.get("format")?.lowercased()
        let accept = request.headers[.accept]?.lowercased() ?? ""
        do {
            if root.codec == CID.Codec.car { return try await shard(request, root) }
            let exporter = UnixFSExporter(source: source)
            let (target, pathBlocks) = try await resolve(root, inner)
            if format == "raw" || accept.contains("application/vnd.ipld.raw") { return try await raw(request, target) }
            if format == "car" || accept.contains("application/vnd.ipld.car") { return try await car(request, root: root, target: target, pathBlocks: pathBlocks) }
            let entry = try await exporter.stat(target)
            switch entry.kind {
            case .directory: return try await listing(request, target, path: "/ipfs/" + ([first] + segments.dropFirst()).joined(separator: "/"), exporter: exporter)
            case .file, .raw: return try await file(request, target, size: entry.size, name: segments.count > 1 ? segments.last : nil, exporter: exporter)
            case .symlink: return text(.notImplemented, "symlinks are not served")
            }
        } catch let e as UnixFSError {
            switch e {
            case .blockNotFound, .pathNotFound: return text(.notFound, e.description)
            case .rangeNotSatisfiable: return text(.rangeNotSatisfiable, e.description)
            default: return text(.badGateway, e.description)
            }
        } catch {
            return text(.internalServerError, "\(error)")
        }
    }

    /// Resolves `path` under `root`, collecting the blocks walked through (for CAR responses).
    func resolve(_ root: CID, _ path: String) async throws -> (CID, [CID]) {
        var walked: [CID] = []
        var current = root
        let exporter = UnixFSExporter(source: source)
        for segment in path.split(separator: "/") {
            walked.append(current)
            current = try await exporter.resolve(current, path: String(segment))
        }
        _ = try await source.block(current)  // unknown content is a 404, as in production
        return (current, walked)
    }

    func shard(_ request: Request, _ cid: CID) async throws -> Response {
        guard try await source.isIndexedShard(cid.multihash), let size = service.blobs.size(of: cid.multihash) else {
            return text(.notFound, "shard \(cid) is not indexed here")
        }
        let blobs = service.blobs
        let mh = cid.multihash
        return fileResponse(request, size: size, contentType: "application/vnd.ipld.car; version=1", etag: "\"\(cid)\"") { range in
            try await blobs.readAsync(mh, range: range)
        }
    }

    func raw(_ request: Request, _ cid: CID) async throws -> Response {
        let bytes = try await source.block(cid)
        return fileResponse(request, size: UInt64(bytes.count), contentType: "application/vnd.ipld.raw", etag: "\"\(cid).raw\"") { range in
            // `range` lies within the block: fileResponse only asks for what it checked against the size.
            let base = bytes.startIndex
            return bytes.subdata(in: (base + Int(range.lowerBound))..<(base + Int(range.upperBound)))
        }
    }

    func file(_ request: Request, _ cid: CID, size: UInt64, name: String?, exporter: UnixFSExporter) async throws -> Response {
        var head = Data()
        if size > 0 { try await exporter.read(cid, range: 0..<min(size, 512)) { head.append($0) } }
        let type = ContentType.guess(name: name, head: head)
        var response = fileResponse(request, size: size, contentType: type, etag: "\"\(cid)\"") { _ in Data() }
        guard request.method == .get, response.status == .ok || response.status == .partialContent else { return response }
        // fileResponse accepted the header, so it parses again here.
        let range = (try? ByteRange.parse(request.headers[.range], size: size))?.span ?? 0..<size
        // fileResponse refused sizes above Int64.max, so the length converts.
        response.body = ResponseBody(contentLength: Int(range.upperBound - range.lowerBound)) { writer in
            if !range.isEmpty {
                try await exporter.read(cid, range: range) { data in try await writer.write(ByteBuffer(bytes: data)) }
            }
            try await writer.finish(nil)
        }
        return response
    }

    func listing(_ request: Request, _ cid: CID, path: String, exporter: UnixFSExporter) async throws -> Response {
        let entries = try await exporter.list(cid)
        let accept = request.headers[.accept]?.lowercased() ?? ""
        if accept.contains("application/json") || request.uri.queryParameters.get("format") == "json" {
            return json(.ok, ["cid": .link(cid), "entries": .list(entries.map {
                ["name": .string($0.name), "cid": .link($0.cid), "size": .integer(IPLDInteger(isNegative: false, magnitude: $0.dagSize))]
            })])
        }
        let base = path.hasSuffix("/") ? path : path + "/"
        let rows = entries.map { e in
            "<tr><td><a href=\"\(escape(base + (e.name.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed) ?? e.name)))\">\(escape(e.name))</a></td><td>\(e.dagSize)</td><td><code>\(e.cid)</code></td></tr>"
        }.joined()
        return html(.ok, "<h1>Index of \(escape(path))</h1><table><tr><th>Name</th><th>Size</th><th>CID</th></tr>\(rows)</table>")
    }

    /// A CAR of the DAG at `target`: the path blocks, then the target per `dag-scope` (all, entity, block).
    func car(_ request: Request, root: CID, target: CID, pathBlocks: [CID]) async throws -> Response {
        guard let scope = DAGScope(rawValue: request.uri.queryParameters.get("dag-scope") ?? "all") else {
            return text(.badRequest, "dag-scope must be all, entity or block")
        }
        var entityRange: Range<UInt64>? = nil
        if let spec = request.uri.queryParameters.get("entity-bytes") {
            guard let bytes = EntityBytes.parse(String(spec)) else {
                return text(.badRequest, "entity-bytes must be from:to with integer offsets (to may be *), not \"\(spec.prefix(64))\"")
            }
            let entry = try await UnixFSExporter(source: source).stat(target)
            if entry.kind == .file || entry.kind == .raw { entityRange = bytes.resolve(size: entry.size) }
        }
        let range = entityRange
        let source = self.source
        var h = HTTPFields()
        h[.contentType] = "application/vnd.ipld.car; version=1; order=dfs; dups=y"
        h[.eTag] = "W/\"\(target).car\""
        if request.method == .head { return Response(status: .ok, headers: h) }
        let body = ResponseBody { writer in
            try await writer.write(ByteBuffer(bytes: CARHeader(roots: [root]).bytes))
            var sent = Set<CID>()
            func emit(_ cid: CID) async throws -> Data {
                let bytes = try await source.block(cid)
                if sent.insert(cid).inserted {
                    try await writer.write(ByteBuffer(bytes: CAREncoder.sectionPrefix(cid, dataLength: bytes.count)))
                    try await writer.write(ByteBuffer(bytes: bytes))
                }
                return bytes
            }
            var walker = DAGWalker()
            for cid in pathBlocks { try await walker.walk(cid, scope: .block, range: nil, emit: emit) }
            try await walker.walk(target, scope: scope, range: range, emit: emit)
            try await writer.finish(nil)
        }
        return Response(status: .ok, headers: h, body: body)
    }
}
