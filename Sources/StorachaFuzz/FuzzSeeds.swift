import CAR
import Foundation
import IPLD
import Multiformats
import StorachaClient
import UCAN
import Ucanto
import UnixFS

/// Seed inputs per target: the reference vectors (codec fixtures, wire CARs) and inputs made here the way the
/// test suite makes them. `Fuzz/run` writes them to `Fuzz/corpus/TARGET/` when that folder is empty.
public enum FuzzSeeds {
    /// The seeds of `target`, reading reference files from `vectors` (`../shared/vectors` from the project root).
    public static func seeds(for target: String, vectors: URL) throws -> [[UInt8]] {
        func files(_ folder: String, suffix: String) -> [[UInt8]] {
            let root = vectors.appendingPathComponent(folder)
            let names = (FileManager.default.enumerator(atPath: root.path)?.allObjects as? [String] ?? []).filter { $0.hasSuffix(suffix) }.sorted()
            return names.compactMap { try? [UInt8](Data(contentsOf: root.appendingPathComponent($0))) }.filter { $0.count <= 64 << 10 }
        }
        let cid = CID.sha256(codec: DAGCBOR.code, [UInt8]("seed".utf8))
        switch target {
        case "varint": return [0, 1, 127, 128, 300, 1 << 35, UInt64.max].map { Varint.encode($0) }
        case "multibase": return [cid.description, "mAYIEAAA", "zQmYwAPJzv5CZsnA625s3Xf2nemtYgPpHdWEz79ojWnPbdG", "f0155", "Mdm90ZQ=="]
            .map { Array($0.utf8) }
        case "cid": return [cid.bytes, Array(cid.description.utf8), Array("QmYwAPJzv5CZsnA625s3Xf2nemtYgPpHdWEz79ojWnPbdG".utf8)]
        case "dag-cbor": return files("codec-fixtures/fixtures", suffix: ".dag-cbor")
        case "dag-json": return files("codec-fixtures/fixtures", suffix: ".dag-json")
        case "dag-pb": return files("codec-fixtures/fixtures", suffix: ".dag-pb")
        case "car", "exporter": return try unixfsCARs() + files("wire", suffix: ".car")
        case "unixfs-node":
            return [UnixFSData(kind: .file, filesize: 10, blocksizes: [5, 5]).encode(), UnixFSData(kind: .directory).encode()]
        case "dag-index":
            let sink = CollectingSink()
            let link = try DirectoryImporter(sink: sink).importDirectory([ImportFile(name: "a", data: Data(repeating: 1, count: 3000))])
            return [[UInt8](try ShardedDAGIndex(content: link.cid, shards: []).archive())]
        case "ucan", "delegation", "agent-message", "validator":
            var seeds = files("wire", suffix: ".car").filter { $0.count < 16 << 10 }
            if let fixture = ValidatorFixture.shared {
                seeds.append(fixture.request)
                if let invocation = try fixture.message().invocations.first {
                    seeds.append([UInt8](invocation.root.bytes))
                    seeds.append([UInt8](try invocation.archive()))
                    seeds.append(Array(try invocation.formatString().utf8))
                }
            }
            return seeds
        case "profile":
            let agent = try Ed25519Signer(seed: [UInt8](repeating: 3, count: 32))
            return [[UInt8](AgentProfile(principal: agent).json())]
        case "sigv4", "s3-request": return s3Requests.map { Array($0.utf8) }
        case "aws-chunked":
            return ["5\r\nhello\r\n0\r\n\r\n", "3;chunk-signature=ab\r\nabc\r\n0\r\nx-amz-checksum-crc32:AAAA\r\n\r\n"].map { Array($0.utf8) }
        case "s3-xml":
            return [#"<Delete><Object><Key>a.txt</Key></Object><Quiet>true</Quiet></Delete>"#,
                    #"<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>"abc"</ETag></Part></CompleteMultipartUpload>"#]
                .map { Array($0.utf8) }
        default: return []
        }
    }

    /// CARs of small UnixFS DAGs: a file of several leaves, a directory, a HAMT-sharded directory.
    static func unixfsCARs() throws -> [[UInt8]] {
        let settings = ImportSettings(chunkSize: 256, fileWidth: 4, hamtThreshold: 8)
        var cars: [[UInt8]] = []
        let file = CollectingSink()
        var bytes = MemoryByteSource(Data((0..<2000).map { UInt8(truncatingIfNeeded: $0) }))
        let fileRoot = try FileImporter(settings: settings, sink: file).importFile(from: &bytes)
        cars.append([UInt8](CAREncoder.encode(roots: [fileRoot.cid], blocks: file.blocks)))
        let directories: [[ImportFile]] = [
            [ImportFile(name: "a.txt", data: Data("hello".utf8)), ImportFile(name: "d/b.bin", data: Data(repeating: 7, count: 700))],
            (0..<12).map { ImportFile(name: "n\($0)", data: Data("\($0)".utf8)) },
        ]
        for files in directories {
            let sink = CollectingSink()
            let link = try DirectoryImporter(settings: settings, sink: sink).importDirectory(files)
            cars.append([UInt8](CAREncoder.encode(roots: [link.cid], blocks: sink.blocks)))
        }
        return cars
    }

    /// AWS's worked SigV4 examples as `FuzzRequest` text (they verify at ``FuzzTargets/exampleTime``).
    static let s3Requests = [
        """
        GET /test.txt
        Host: examplebucket.s3.amazonaws.com
        Range: bytes=0-9
        x-amz-content-sha256: e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
        x-amz-date: 20130524T000000Z
        Authorization: AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,\
        SignedHeaders=host;range;x-amz-content-sha256;x-amz-date,Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41
        """,
        """
        GET /test.txt?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request\
        &X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host\
        &X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404
        Host: examplebucket.s3.amazonaws.com
        """,
        "PUT /bucket/key%20with%20space?partNumber=1&uploadId=abc\nHost: localhost\n\nbody",
        "POST /bucket?delete\nHost: localhost\ncontent-md5: AAAA\n\n<Delete/>",
    ]
}
