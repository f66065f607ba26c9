#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import CAR
import Foundation
import IPLD
import Multiformats
import NIOHTTP1
import StorachaClient
import Testing
import TestSupport
import UCAN
import Ucanto
import UnixFS

/// Sends raw bytes to 127.0.0.1:`port` and reads until the server closes or 2 s pass (POSIX sockets, so
/// that requests no HTTP client would send can be sent).
func sendRaw(_ bytes: [UInt8], port: Int) -> Data {
    #if canImport(Glibc)
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    #else
    let fd = socket(AF_INET, SOCK_STREAM, 0)
    #endif
    guard fd >= 0 else { return Data() }
    defer { close(fd) }
    var timeout = timeval(tv_sec: 2, tv_usec: 0)
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = in_port_t(UInt16(port).bigEndian)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    let connected = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    }
    guard connected == 0 else { return Data() }
    _ = bytes.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, 0) }
    shutdown(fd, Int32(SHUT_WR))
    var out = Data()
    var buffer = [UInt8](repeating: 0, count: 65536)
    while out.count < 1 << 20 {
        let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        if n <= 0 { break }
        out.append(contentsOf: buffer[0..<n])
    }
    return out
}

/// Generated malformed requests: odd methods, paths, queries, headers and bodies, seeded so a failure
/// reproduces.
struct AttackGenerator {
    var rng: SplitMix64
    let root: CID
    let file: CID
    let shard: CID

    mutating func pick<T>(_ items: [T]) -> T { items[Int(rng.next() % UInt64(items.count))] }

    mutating func junk(_ maxLength: Int) -> String {
        let alphabet = Array("abcXYZ019-_.~%/?&=:;,+*!'()[]@$ \\\"<>{}|^`#\u{e9}\u{1F600}")
        return String((0..<Int(rng.next() % UInt64(maxLength + 1))).map { _ in pick(alphabet) })
    }

    mutating func number() -> String {
        pick(["0", "1", "-1", "18446744073709551615", "18446744073709551616", "9223372036854775807", "-9223372036854775808",
              "99999999999999999999999999", "", "abc", "0x10", "1e9", String(rng.next())])
    }

    mutating func range() -> String {
        pick(["bytes=\(number())-\(number())", "bytes=-\(number())", "bytes=\(number())-", junk(30), "bytes=0-1,2-3,\(number())-"])
    }

    mutating func path() -> String {
        switch rng.next() % 14 {
        case 0: return "/"
        case 1: return "/ipfs/\(root)/\(junk(40))"
        case 2: return "/ipfs/\(junk(80))"
        case 3: return "/blob/\(junk(60))?size=\(number())&expires=\(number())&signature=\(junk(30))"
        case 4: return "/blob/\(shard.multihash)?size=\(number())&expires=\(number())&signature=\(junk(43))"
        case 5: return "/receipt/\(junk(70))"
        case 6: return "/validate-email?ucan=\(junk(200))&mode=\(junk(10))"
        case 7:
            let format = pick(["car", "raw", "json", "tar", junk(8)])
            let scope = pick(["all", "entity", "block", junk(6)])
            return "/ipfs/\(root)?format=\(format)&dag-scope=\(scope)&entity-bytes=\(number()):\(pick([number(), "*"]))"
        case 8: return "/ipfs/\(file)?format=car&entity-bytes=\(number()):\(number())"
        case 9: return "/ipfs/\(shard)/\(junk(10))"
        case 10: return "/" + String(repeating: "a/", count: Int(rng.next() % 4000))
        case 11: return "/ipfs/\(root)/%00/%ff/%2e%2e/../\(junk(20))"
        case 12: return "/ipfs/\(root)/" + String(repeating: "x", count: Int(rng.next() % 20000))
        default: return "/\(junk(100))"
        }
    }

    mutating func headers() -> [String: String] {
        var h: [String: String] = [:]
        for _ in 0..<Int(rng.next() % 5) {
            switch rng.next() % 6 {
            case 0: h["range"] = range()
            case 1: h["content-type"] = pick(["application/vnd.ipld.car", "application/car", "application/cbor", junk(30)])
            case 2: h["accept"] = pick(["application/vnd.ipld.car", "application/vnd.ipld.raw", "application/json", "*/*", junk(30)])
            case 3: h["x-amz-checksum-sha256"] = junk(44)
            case 4: h["if-none-match"] = junk(20)
            default: h["x-\(rng.next() % 100)"] = junk(200)
            }
        }
        return h
    }

    /// A body: random bytes, or a real CAR cut short or with a flipped byte.
    mutating func body(valid: Data) -> Data? {
        switch rng.next() % 5 {
        case 0: return nil
        case 1: return Data((0..<Int(rng.next() % 4096)).map { _ in UInt8(truncatingIfNeeded: rng.next()) })
        case 2: return valid.prefix(Int(rng.next() % UInt64(valid.count)))
        case 3:
            var d = valid
            let i = Int(rng.next() % UInt64(d.count))
            d[d.startIndex + i] ^= UInt8(truncatingIfNeeded: rng.next() | 1)
            return d
        default: return Data(junk(500).utf8)
        }
    }

    /// A request no HTTP client would send.
    mutating func rawRequest() -> [UInt8] {
        switch rng.next() % 8 {
        case 0: return Array("GET /ipfs/\(root) HTTP/1.1\r\nHost: x\r\nRange: bytes=0-\(number())\r\nRange: bytes=\(number())-\r\n\r\n".utf8)
        case 1:
            let long = String(repeating: "X-Long: \(String(repeating: "a", count: 8000))\r\n", count: 20)
            return Array("GET / HTTP/1.1\r\nHost: x\r\n\(long)\r\n".utf8)
        case 2: return Array("POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/vnd.ipld.car\r\nContent-Length: 99999999999\r\n\r\nabc".utf8)
        case 3:
            return Array(("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Type: application/vnd.ipld.car\r\n\r\n"
                          + "fffffffffffffffff\r\nabc\r\n").utf8)
        case 4: return (0..<Int(rng.next() % 2000)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
        case 5: return Array("GET /ipfs/\(root)/\u{0}\u{1}\r\n\r\n".utf8)
        case 6: return Array("PUT /blob/\(shard.multihash)?size=5&expires=1&signature=x HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\n".utf8)
        default: return Array("\(junk(10)) \(path()) HTTP/\(number())\r\n\r\n".utf8)
        }
    }
}

@Suite(.serialized) struct AttackTests {
    /// 300 generated malformed requests through an HTTP client and 60 raw ones: after each the service
    /// still answers, none is an internal error, and its peak memory stays under 200 MiB.
    @Test func generatedMalformedRequests() async throws {
        let svc = try await HostileService.start()
        defer { svc.stop() }
        let big = lcg(2_200_000, seed: 31)
        let result = try await svc.world.upload([ImportFile(name: "d/big.bin", data: big), ImportFile(name: "d/a.txt", data: Data("a".utf8))])
        let sink = CollectingSink()
        var source = MemoryByteSource(big)
        let file = try FileImporter(sink: sink).importFile(from: &source).cid
        let validBody = try Ucanto.AgentMessage.request([try svc.world.spaceInvocation("space/info", nonce: "y")]).encode()
        var gen = AttackGenerator(rng: SplitMix64(state: 0x5eed), root: result.root, file: file, shard: result.shards[0].cid)
        let methods: [HTTPMethod] = [.GET, .HEAD, .POST, .PUT, .DELETE, .OPTIONS, .PATCH]
        var statuses: [Int: Int] = [:]
        for i in 0..<300 {
            // One request in four is an agent message with a damaged body; one in four fetches real content.
            let kind = i % 4
            let method = kind == 0 ? .POST : kind == 1 ? gen.pick([.GET, .HEAD]) : gen.pick(methods)
            let path = kind == 0 ? "/" : kind == 1 ? gen.pick(["/ipfs/\(result.root)/d/big.bin", "/ipfs/\(file)", "/ipfs/\(result.shards[0].cid)",
                                                             "/blob/\(result.shards[0].cid.multihash)"]) : gen.path()
            var headers = gen.headers()
            if kind == 0 { headers["content-type"] = gen.pick(["application/vnd.ipld.car", "application/car"]) }
            if kind == 1 { headers["range"] = gen.range() }
            let body = method == .GET || method == .HEAD ? nil : kind == 0 ? gen.body(valid: validBody) ?? validBody : gen.body(valid: validBody)
            let r = try? await svc.world.client.request(method, path, headers: headers, body: body)
            if let r { statuses[r.status, default: 0] += 1 }
            let answer = String(decoding: r?.body.prefix(300) ?? Data(), as: UTF8.self)
            #expect(r.map { $0.status != 500 } ?? true, "request \(i): \(method) \(path.prefix(200)) \(headers) answered 500: \(answer)")
            #expect(await svc.healthy(), "the service survives request \(i): \(method) \(path.prefix(200)) \(headers)")
        }
        let port = Int(URL(string: svc.process.url)?.port ?? 0)
        for i in 0..<60 {
            let raw = gen.rawRequest()
            _ = sendRaw(raw, port: port)
            #expect(await svc.healthy(), "the service survives raw request \(i): \(String(decoding: raw.prefix(120), as: UTF8.self))")
        }
        print("attack test statuses: \(statuses.sorted { $0.key < $1.key })")
        if let peak = svc.peakRSS { #expect(peak < 200 << 20, "peak RSS \(peak >> 20) MiB") }
        // Still fully working.
        let again = try await svc.world.client.request(.GET, "/ipfs/\(result.root)/d/big.bin")
        #expect(again.body == big)
    }

    /// A 1 GiB blob offered to `space/index/add` is refused with a clear error, and the service's memory
    /// stays under 200 MiB while it receives, stores and refuses it.
    @Test func hugeIndexBlobIsRefusedWithBoundedMemory() async throws {
        let svc = try await HostileService.start()
        defer { svc.stop() }
        let url = svc.dir.deletingLastPathComponent().appendingPathComponent("huge-\(UUID().uuidString).bin")
        defer { try? FileManager.default.removeItem(at: url) }
        FileManager.default.createFile(atPath: url.path, contents: nil)
        let handle = try FileHandle(forWritingTo: url)
        let chunk = lcg(1 << 20, seed: 77)
        for i in 0..<1024 {
            var piece = chunk
            piece[0] = UInt8(truncatingIfNeeded: i)
            piece[1] = UInt8(truncatingIfNeeded: i >> 8)
            try handle.write(contentsOf: piece)
        }
        try handle.close()
        let (digest, _) = try await svc.world.spaceSession.addBlob(.file(url))
        let add = try await svc.world.invoke("space/index/add", ["index": .link(CID(codec: CID.Codec.car, multihash: digest))])
        #expect(add.out.errorName == "IndexTooLarge", "\(add.out)")
        #expect(add.out.errorMessage?.contains("larger than") == true)
        #expect(await svc.healthy())
        if let peak = svc.peakRSS { #expect(peak < 200 << 20, "peak RSS \(peak >> 20) MiB") }
    }
}
