import Crypto

/// Decodes an `aws-chunked` request body as it arrives: `hex-size[;chunk-signature=sig]\r\n data \r\n`,
/// repeated, ending with a zero-size chunk and optional trailer lines. With a ``ChunkSigner`` every
/// chunk's signature is checked against the chain that starts at the request's signature; a chunk's
/// bytes are handed out as they arrive, so a consumer keeps them provisional until ``finish()``.
public struct AWSChunkedDecoder {
    let signer: ChunkSigner?
    private var previous: String
    private var pending: [UInt8] = []
    private var state = State.header
    private var chunkLeft = 0
    private var chunkSignature = ""
    private var chunkHash = SHA256()
    /// Trailer fields (`x-amz-checksum-…`), names in lower case.
    public private(set) var trailers: [(name: String, value: String)] = []
    /// Decoded bytes so far.
    public private(set) var decodedCount: UInt64 = 0

    enum State { case header, data, dataEnd, trailer, done }

    /// Longest chunk header or trailer line accepted.
    static let maxLine = 4096

    /// A decoder that checks chunk signatures with `signer`, or accepts unsigned chunks when it is nil.
    public init(signer: ChunkSigner?) {
        self.signer = signer
        self.previous = signer?.seedSignature ?? ""
    }

    /// Takes more body bytes and returns the decoded bytes among them.
    public mutating func feed(_ bytes: some Sequence<UInt8>) throws(S3Error) -> [UInt8] {
        pending.append(contentsOf: bytes)
        var out: [UInt8] = []
        var at = 0
        loop: while at < pending.count {
            switch state {
            case .header:
                guard let line = try takeLine(&at) else { break loop }
                try startChunk(line)
            case .data:
                let n = min(chunkLeft, pending.count - at)
                let slice = pending[at..<(at + n)]
                chunkHash.update(data: slice)
                out.append(contentsOf: slice)
                chunkLeft -= n
                at += n
                decodedCount += UInt64(n)
                if chunkLeft == 0 { state = .dataEnd }
            case .dataEnd:
                guard pending.count - at >= 2 else { break loop }
                guard pending[at] == 13, pending[at + 1] == 10 else { throw S3Error.incompleteBody("an aws-chunked chunk does not end with CRLF") }
                at += 2
                try endChunk()
                state = .header
            case .trailer:
                guard let line = try takeLine(&at) else { break loop }
                if line.isEmpty { state = .done; continue }
                let text = String(decoding: line, as: UTF8.self)
                guard let colon = text.firstIndex(of: ":") else { throw S3Error.incompleteBody("malformed aws-chunked trailer") }
                trailers.append((name: text[..<colon].lowercased(),
                    value: String(text[text.index(after: colon)...]).trimmingCharacters(in: .whitespaces)))
            case .done:
                throw S3Error.incompleteBody("bytes after the end of an aws-chunked body")
            }
        }
        pending.removeFirst(at)
        return out
    }

    /// Checks that the body ended where the encoding says it does.
    public func finish() throws(S3Error) {
        guard state == .done || (state == .trailer && pending.isEmpty && signer != nil) else {
            throw S3Error.incompleteBody("the aws-chunked body ended early")
        }
    }

    private mutating func takeLine(_ at: inout Int) throws(S3Error) -> ArraySlice<UInt8>? {
        var i = at
        while i + 1 < pending.count {
            if pending[i] == 13 && pending[i + 1] == 10 {
                let line = pending[at..<i]
                at = i + 2
                return line
            }
            i += 1
        }
        guard pending.count - at <= AWSChunkedDecoder.maxLine else { throw S3Error.incompleteBody("an aws-chunked line is too long") }
        return nil
    }

    private mutating func startChunk(_ line: ArraySlice<UInt8>) throws(S3Error) {
        let text = String(decoding: line, as: UTF8.self)
        let parts = text.split(separator: ";", maxSplits: 1)
        guard let first = parts.first, first.count <= 16, let size = Int(first, radix: 16), size >= 0 else {
            throw S3Error.incompleteBody("malformed aws-chunked chunk size")
        }
        chunkSignature = ""
        if parts.count > 1 {
            let ext = parts[1].split(separator: "=", maxSplits: 1)
            if ext.count == 2 && ext[0] == "chunk-signature" { chunkSignature = String(ext[1]) }
        }
        if signer != nil && chunkSignature.isEmpty { throw S3Error.signatureDoesNotMatch("an aws-chunked chunk has no signature") }
        chunkLeft = size
        chunkHash = SHA256()
        if size == 0 {
            try endChunk()
            state = .trailer
        } else {
            state = .data
        }
    }

    private mutating func endChunk() throws(S3Error) {
        guard let signer else { return }
        let expected = signer.signature(previous: previous, chunkHash: SigV4.hex(Array(chunkHash.finalize())))
        try SigV4.check(chunkSignature, expected: expected)
        previous = expected
    }
}
