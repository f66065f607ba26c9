import Crypto
import Foundation
import GRDB
import IPLD
import Multiformats
import SystemIO
import UCAN
import Ucanto

extension UploadService {
    /// Largest blob the service accepts (the legacy provider's limit).
    static let maxBlobSize: UInt64 = 4_261_412_864

    /// `space/blob/add`: allocate, hand out a PUT URL, and describe the put/accept tasks as effects.
    /// Runs under the blob's lock, so that a concurrent removal cannot delete the bytes between the
    /// check that they are stored and their acceptance into the space.
    func blobAdd(_ r: Request) async throws -> HandlerResult {
        let (digest, _) = try r.nb.blob()
        return try await blobLocks.withLock(Data(digest.bytes)) { try await self.blobAddLocked(r) }
    }

    func blobAddLocked(_ r: Request) async throws -> HandlerResult {
        let space = r.with
        let (digest, size) = try r.nb.blob()
        guard digest.code == Multihash.sha256Code, digest.digest.count == 32 else {
            throw Failure(name: "UnsupportedDigest", message: "only sha2-256 blob digests are supported")
        }
        guard size > 0, size <= UploadService.maxBlobSize else {
            throw Failure(name: "BlobSizeOutsideOfSupportedRange", message: "blob size \(size) is outside 1…\(UploadService.maxBlobSize)")
        }
        try await requireProvisioned(space)
        let blob = Value.blob(digest, size)
        let service = identity.signer
        let allocate = try Delegation.invoke(issuer: service, audience: identity.did,
                                             capability: Capability(can: "blob/allocate", with: identity.did.string,
                                                                    nb: ["blob": blob, "space": .string(space), "cause": .link(r.invocation.cid)]),
                                             expiration: .never)
        let derived = try Ed25519Signer(seed: Array(digest.digest.suffix(32)))
        let put = try Delegation.invoke(issuer: derived, audience: derived.did,
                                        capability: Capability(can: "http/put", with: derived.did.string, nb: [
                                            "body": blob,
                                            "url": UCANAwait(selector: ".out.ok.address.url", task: allocate.cid).ipld,
                                            "headers": UCANAwait(selector: ".out.ok.address.headers", task: allocate.cid).ipld,
                                        ]),
                                        expiration: .never,
                                        facts: [["keys": ["id": .string(derived.did.string), "keys": [derived.did.string: .bytes(derived.bytes)]]]])
        let accept = try Delegation.invoke(issuer: service, audience: identity.did,
                                           capability: Capability(can: "blob/accept", with: identity.did.string, nb: [
                                               "blob": blob, "space": .string(space), "_put": UCANAwait(selector: ".out.ok", task: put.cid).ipld,
                                           ]),
                                           expiration: .never)
        // The legacy `web3.storage/blob/*` tasks keep @web3-storage/w3up-client working, as upload-api does.
        let allocateLegacy = try Delegation.invoke(issuer: service, audience: identity.did,
                                                   capability: Capability(can: "web3.storage/blob/allocate", with: identity.did.string,
                                                                          nb: ["blob": blob, "space": .string(space), "cause": .link(r.invocation.cid)]),
                                                   expiration: .never)
        let acceptLegacy = try Delegation.invoke(issuer: service, audience: identity.did,
                                                 capability: Capability(can: "web3.storage/blob/accept", with: identity.did.string, nb: [
                                                     "blob": blob, "space": .string(space), "_put": UCANAwait(selector: ".out.ok", task: put.cid).ipld,
                                                 ]),
                                                 expiration: .never)

        let digestBytes = Data(digest.bytes)
        let inSpace = try await store.read { db in
            try Bool.fetchOne(db, sql: "SELECT 1 FROM blobs WHERE space = ? AND digest = ?", arguments: [space, digestBytes]) ?? false
        }
        let stored = blobs.size(of: digest) == size
        var allocation: [String: IPLDValue] = ["size": Value.int(inSpace ? 0 : size)]
        if !stored {
            let expires = r.now + configuration.putURLLifetime
            allocation["address"] = [
                "url": .string(putURL(digest: digest, size: size, expires: expires)),
                "headers": ["content-length": .string(String(size)), "x-amz-checksum-sha256": .string(Data(digest.digest).base64EncodedString())],
                "expires": Value.int(expires),
            ]
        }
        let cause = r.invocation.cid.description
        let putTask = put.cid.description
        let acceptTask = accept.cid.description
        let acceptArchive = try accept.archive()
        let acceptLegacyArchive = try acceptLegacy.archive()
        try await store.write { db in
            try db.execute(sql: """
                INSERT INTO allocations (space, digest, size, cause, putTask, acceptTask, accept, acceptLegacy, insertedAt) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT (space, digest) DO UPDATE SET cause = excluded.cause, putTask = excluded.putTask,
                    acceptTask = excluded.acceptTask, accept = excluded.accept, acceptLegacy = excluded.acceptLegacy
                """, arguments: [space, digestBytes, Int64(size), cause, putTask, acceptTask, acceptArchive, acceptLegacyArchive, r.now])
        }
        let allocateReceipt = try Receipt.issue(issuer: service, ran: .delegation(allocate), result: .ok(.map(allocation)))
        let allocateLegacyReceipt = try Receipt.issue(issuer: service, ran: .delegation(allocateLegacy), result: allocateReceipt.out)
        try await receipts.save(allocateReceipt, now: r.now)
        try await receipts.save(allocateLegacyReceipt, now: r.now)
        let fork: [Receipt.Effect] = [.delegation(allocate), .delegation(allocateLegacy), .delegation(put), .delegation(accept), .delegation(acceptLegacy)]
        var conclusions: [Receipt.Effect] = [.delegation(try serviceConclusion(allocateReceipt)), .delegation(try serviceConclusion(allocateLegacyReceipt))]
        if stored {
            // The bytes are already here: the derived key concludes the put and the service accepts at once.
            let putReceipt = try Receipt.issue(issuer: derived, ran: .delegation(put), result: .ok([:]))
            try await receipts.save(putReceipt, now: r.now)
            let (acceptReceipt, legacyReceipt) = try await runAccept(accept, legacy: acceptLegacy, space: space, digest: digest, size: size,
                                                                     cause: r.invocation.cid, now: r.now)
            conclusions.append(.delegation(try concludeEffect(putReceipt, issuer: derived, issuerKey: derived.did, audience: derived.did)))
            conclusions.append(.delegation(try serviceConclusion(acceptReceipt)))
            conclusions.append(.delegation(try serviceConclusion(legacyReceipt)))
        }
        return HandlerResult(.ok(["site": UCANAwait(selector: ".out.ok.site", task: accept.cid).ipld]), fork: fork + conclusions)
    }

    /// Runs `blob/accept`: registers the blob in the space (with a usage event) and issues a location
    /// commitment; the legacy `web3.storage/blob/accept` task gets a receipt with the same result.
    func runAccept(_ accept: Delegation, legacy: Delegation, space: String, digest: Multihash, size: UInt64, cause: CID, now: Int) async throws -> (Receipt, Receipt) {
        if let existing = try await receipts.receipt(for: accept.cid.description), let old = try await receipts.receipt(for: legacy.cid.description) {
            return (existing, old)
        }
        let result: Outcome
        var fork: [Receipt.Effect] = []
        if blobs.size(of: digest) == size {
            let digestBytes = Data(digest.bytes)
            let provider = identity.did.string
            let causeText = cause.description
            try await store.write { db in
                let exists = try Bool.fetchOne(db, sql: "SELECT 1 FROM blobs WHERE space = ? AND digest = ?", arguments: [space, digestBytes]) ?? false
                guard !exists else { return }
                let seq = (try Int64.fetchOne(db, sql: "SELECT COALESCE(MAX(seq), 0) + 1 FROM blobs WHERE space = ?", arguments: [space])) ?? 1
                try db.execute(sql: "INSERT INTO blobs (space, digest, size, cause, insertedAt, seq) VALUES (?, ?, ?, ?, ?, ?)",
                               arguments: [space, digestBytes, Int64(size), causeText, now, seq])
                try db.execute(sql: "INSERT INTO usage (space, provider, delta, cause, receiptAt) VALUES (?, ?, ?, ?, ?)",
                               arguments: [space, provider, Int64(size), causeText, now])
            }
            let spaceDID = try DID(space)
            let location = try Delegation.delegate(issuer: identity.signer, audience: spaceDID,
                                                   capabilities: [Capability(can: "assert/location", with: identity.did.string, nb: [
                                                       "space": .string(space), "content": ["digest": .bytes(digest.bytes)],
                                                       "location": [.string(blobURL(digest))],
                                                   ])],
                                                   expiration: .never)
            result = .ok(["site": .link(location.cid)])
            fork = [.delegation(location)]
        } else {
            result = .failure(name: "AllocatedMemoryHadNotBeenWrittenTo", message: "blob \(digest) has not been written to its allocation")
        }
        let receipt = try Receipt.issue(issuer: identity.signer, ran: .delegation(accept), result: result, fork: fork)
        let legacyReceipt = try Receipt.issue(issuer: identity.signer, ran: .delegation(legacy), result: result, fork: fork)
        if result.isOK {
            try await receipts.save(receipt, now: now)
            try await receipts.save(legacyReceipt, now: now)
        }
        return (receipt, legacyReceipt)
    }

    /// `ucan/conclude`: records a receipt; an `http/put` receipt for an allocation triggers `blob/accept`.
    func conclude(_ r: Request) async throws -> HandlerResult {
        let link = try r.nb.link("receipt")
        let receipt: Receipt
        do { receipt = try Receipt(root: link, blocks: r.invocation.blocks) } catch {
            throw Failure(name: "ReceiptNotFound", message: "receipt \(link) is not attached to the invocation: \(error)")
        }
        let ranText = receipt.ran.description
        let allocation = try await store.read { db in
            try Row.fetchOne(db, sql: "SELECT space, digest, size, cause, accept, acceptLegacy FROM allocations WHERE putTask = ?", arguments: [ranText]).map(Record.init)
        }
        if let allocation {
            let space = allocation.text("space")
            let digest = try Multihash(bytes: [UInt8](allocation.blob("digest")))
            guard let size = UInt64(exactly: allocation.int("size")) else { throw Failure(name: "BlobNotFound", message: "corrupt allocation") }
            let derived = try Ed25519Signer(seed: Array(digest.digest.suffix(32)))
            guard let issuer = receipt.issuer, issuer == derived.did, receipt.verifySignature(derived.verifier) else {
                throw Failure(name: "InvalidSignature", message: "the http/put receipt must be signed by the derived key \(derived.did)")
            }
            try await receipts.save(receipt, now: r.now)
            guard receipt.out.isOK else { return HandlerResult(.ok(["time": Value.int(r.now)])) }
            let accept = try Delegation.extract(allocation.blob("accept"))
            let legacy = try Delegation.extract(allocation.blob("acceptLegacy"))
            let cause = try CID(allocation.text("cause"))
            let now = r.now
            let (acceptReceipt, _) = try await blobLocks.withLock(Data(digest.bytes)) {
                try await self.runAccept(accept, legacy: legacy, space: space, digest: digest, size: size, cause: cause, now: now)
            }
            guard acceptReceipt.out.isOK else { throw Failure(name: acceptReceipt.out.errorName ?? "BlobNotFound", message: acceptReceipt.out.errorMessage ?? "") }
        } else {
            try await receipts.save(receipt, now: r.now)
        }
        return HandlerResult(.ok(["time": Value.int(r.now)]))
    }

    /// `space/blob/list`
    func blobList(_ r: Request) async throws -> HandlerResult {
        let space = r.with
        let size = max(1, min(r.nb.int("size") ?? configuration.defaultPageSize, 1000))
        let after = Int64(r.nb.string("cursor") ?? "") ?? 0
        let rows = try await store.read { db in
            try Row.fetchAll(db, sql: "SELECT digest, size, cause, insertedAt, seq FROM blobs WHERE space = ? AND seq > ? ORDER BY seq LIMIT ?",
                             arguments: [space, after, size + 1]).map(Record.init)
        }
        let page = rows.prefix(size)
        var results: [IPLDValue] = []
        for row in page {
            let digest = try Multihash(bytes: [UInt8](row.blob("digest")))
            results.append(["blob": Value.blob(digest, UInt64(row.int("size"))), "cause": .link(try CID(row.text("cause"))),
                            "insertedAt": Value.iso(row.time("insertedAt"))])
        }
        var ok: [String: IPLDValue] = ["size": Value.int(results.count), "results": .list(results)]
        if let first = page.first { ok["before"] = .string(String(first.int("seq"))) }
        if let last = page.last {
            ok["after"] = .string(String(last.int("seq")))
            if rows.count > size { ok["cursor"] = .string(String(last.int("seq"))) }
        }
        return HandlerResult(.ok(.map(ok)))
    }

    /// `space/blob/remove`: unregisters the blob from the space; its file is deleted only when no space
    /// holds or is uploading it, decided and done under the blob's lock.
    func blobRemove(_ r: Request) async throws -> HandlerResult {
        let digest = try r.nb.digest("digest")
        return try await blobLocks.withLock(Data(digest.bytes)) { try await self.blobRemoveLocked(r, digest: digest) }
    }

    func blobRemoveLocked(_ r: Request, digest: Multihash) async throws -> HandlerResult {
        let space = r.with
        let bytes = Data(digest.bytes)
        let provider = identity.did.string
        let cause = r.invocation.cid.description
        let now = r.now
        let (removed, stillUsed) = try await store.write { db -> (Int64, Bool) in
            guard let size = try Int64.fetchOne(db, sql: "SELECT size FROM blobs WHERE space = ? AND digest = ?", arguments: [space, bytes]) else { return (0, true) }
            try db.execute(sql: "DELETE FROM blobs WHERE space = ? AND digest = ?", arguments: [space, bytes])
            try db.execute(sql: "DELETE FROM allocations WHERE space = ? AND digest = ?", arguments: [space, bytes])
            try db.execute(sql: "DELETE FROM slices WHERE space = ? AND shard = ?", arguments: [space, bytes])
            try db.execute(sql: "INSERT INTO usage (space, provider, delta, cause, receiptAt) VALUES (?, ?, ?, ?, ?)",
                           arguments: [space, provider, -size, cause, now])
            // Another space may hold the same bytes, or have been handed a PUT URL for them.
            let held = try Bool.fetchOne(db, sql: "SELECT 1 FROM blobs WHERE digest = ?", arguments: [bytes]) ?? false
            let allocated = try Bool.fetchOne(db, sql: "SELECT 1 FROM allocations WHERE digest = ?", arguments: [bytes]) ?? false
            return (size, held || allocated)
        }
        if !stillUsed { try await BlockingIO.run { [blobs] in try blobs.remove(digest) } }
        return HandlerResult(.ok(["size": Value.int(removed)]))
    }

    /// `space/blob/get/0/1`
    func blobGet(_ r: Request) async throws -> HandlerResult {
        let space = r.with
        let digest = try r.nb.digest("digest")
        let bytes = Data(digest.bytes)
        guard let row = try await store.read({ db in
            try Row.fetchOne(db, sql: "SELECT size, cause, insertedAt FROM blobs WHERE space = ? AND digest = ?", arguments: [space, bytes]).map(Record.init)
        }) else { throw Failure(name: "BlobNotFound", message: "blob \(digest) is not in \(space)") }
        return HandlerResult(.ok(["blob": Value.blob(digest, UInt64(row.int("size"))), "cause": .link(try CID(row.text("cause"))),
                                  "insertedAt": Value.iso(row.time("insertedAt"))]))
    }

    // MARK: URLs

    /// The signed, expiring PUT URL of an allocation.
    func putURL(digest: Multihash, size: UInt64, expires: Int) -> String {
        let sig = signature(digest: digest, size: size, expires: expires)
        return "\(baseURL)/blob/\(digest)?size=\(size)&expires=\(expires)&signature=\(sig)"
    }

    /// Where a stored blob can be read.
    func blobURL(_ digest: Multihash) -> String { "\(baseURL)/blob/\(digest)" }

    func putURLMessage(digest: Multihash, size: UInt64, expires: Int) -> String { "PUT\n\(digest)\n\(size)\n\(expires)" }

    func signature(digest: Multihash, size: UInt64, expires: Int) -> String {
        let message = Array(putURLMessage(digest: digest, size: size, expires: expires).utf8)
        return Data(HMAC<SHA256>.authenticationCode(for: message, using: identity.urlSecret)).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
    }

    /// Checks a PUT URL's signature and expiry.
    func verifyPutURL(digest: Multihash, size: UInt64, expires: Int, signature given: String, now: Int) -> PutURLCheck {
        // Compared in constant time: HMAC validation does not stop at the first differing byte.
        guard let mac = try? Base64URL.decode(Substring(given)),
              HMAC<SHA256>.isValidAuthenticationCode(mac, authenticating: Array(putURLMessage(digest: digest, size: size, expires: expires).utf8),
                                                     using: identity.urlSecret) else { return .badSignature }
        guard now < expires else { return .expired }
        return .valid
    }

    enum PutURLCheck { case valid, badSignature, expired }

    /// Stores the body of a PUT after checking the allocation, headers and bytes; nothing is kept on any mismatch.
    public func receivePut(digestText: String, query: [String: String], headers: [String: String], now: Int = Clock.now(),
                           body: (BlobWriter) async throws -> Void) async -> (status: Int, message: String) {
        guard let decoded = try? Multibase.decode(digestText), let digest = try? Multihash(bytes: decoded.bytes) else {
            return (400, "malformed blob digest in the URL")
        }
        guard let size = query["size"].flatMap(UInt64.init), let expires = query["expires"].flatMap(Int.init), let sig = query["signature"] else {
            return (403, "the URL is not a signed allocation URL")
        }
        switch verifyPutURL(digest: digest, size: size, expires: expires, signature: sig, now: now) {
        case .badSignature: return (403, "invalid URL signature")
        case .expired: return (403, "the upload URL has expired")
        case .valid: break
        }
        guard headers["content-length"].flatMap(UInt64.init) == size else { return (400, "content-length must be \(size)") }
        guard headers["x-amz-checksum-sha256"] == Data(digest.digest).base64EncodedString() else {
            return (400, "x-amz-checksum-sha256 does not match the allocated digest")
        }
        let writer: BlobWriter
        do { writer = try await BlockingIO.run { [blobs] in try blobs.writer(expecting: digest, size: size) } } catch { return (500, "\(error)") }
        do {
            try await body(writer)
            try await BlockingIO.run { try writer.commit() }
        } catch {
            writer.abort()
            return (400, "\(error)")
        }
        return (200, "")
    }
}
