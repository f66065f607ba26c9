import UCAN

/// The Storacha capabilities the client and the service use (flows.md §2–3), one definition each.
public enum Capabilities {
    /// `space/blob/add`
    public static let spaceBlobAdd = CapabilityDefinition("space/blob/add", resource: .didKey, caveats: ["blob": (.blob, true)], ok: ["site"])
    /// `space/blob/remove`
    public static let spaceBlobRemove = CapabilityDefinition("space/blob/remove", resource: .didKey, caveats: ["digest": (.digest, true)], ok: ["size"])
    /// `space/blob/list`
    public static let spaceBlobList = CapabilityDefinition("space/blob/list", resource: .didKey, caveats: ["cursor": (.string, false), "size": (.int, false)],
                                                           ok: ["cursor", "before", "after", "size", "results"])
    /// `space/blob/get/0/1`
    public static let spaceBlobGet = CapabilityDefinition("space/blob/get/0/1", resource: .didKey, caveats: ["digest": (.digest, true)],
                                                          ok: ["blob", "cause", "insertedAt"], errors: ["BlobNotFound"])
    /// `space/blob/replicate`
    public static let spaceBlobReplicate = CapabilityDefinition("space/blob/replicate", resource: .didKey,
                                                                caveats: ["blob": (.blob, true), "replicas": (.int, true), "site": (.link, true)], ok: ["site"])
    /// `space/index/add`
    public static let spaceIndexAdd = CapabilityDefinition("space/index/add", resource: .didKey, caveats: ["index": (.link, true), "content": (.link, false)], ok: [],
                                                           errors: ["IndexNotFound", "ShardNotFound", "SliceNotFound", "DecodeFailure", "UnknownFormat"])
    /// `space/info`
    public static let spaceInfo = CapabilityDefinition("space/info", resource: .didKey, ok: ["did", "providers"], errors: ["SpaceUnknown"])
    /// `blob/allocate` (service → storage node)
    public static let blobAllocate = CapabilityDefinition("blob/allocate", resource: .did,
                                                          caveats: ["blob": (.blob, true), "space": (.did, true), "cause": (.link, true)], ok: ["size", "address"])
    /// `blob/accept` (service → storage node)
    public static let blobAccept = CapabilityDefinition("blob/accept", resource: .did,
                                                        caveats: ["blob": (.blob, true), "space": (.did, true), "_put": (.map, true)], ok: ["site"])
    /// `http/put` (derived key)
    public static let httpPut = CapabilityDefinition("http/put", resource: .didKey, caveats: ["body": (.blob, true), "url": (.any, true), "headers": (.any, true)])
    /// `upload/add`
    public static let uploadAdd = CapabilityDefinition("upload/add", resource: .didKey, caveats: ["root": (.link, true), "shards": (.list, false)], ok: ["root", "shards"])
    /// `upload/get`
    public static let uploadGet = CapabilityDefinition("upload/get", resource: .didKey, caveats: ["root": (.link, false)],
                                                       ok: ["root", "shards", "insertedAt", "updatedAt"], errors: ["UploadNotFound"])
    /// `upload/remove`
    public static let uploadRemove = CapabilityDefinition("upload/remove", resource: .didKey, caveats: ["root": (.link, true)], ok: ["root", "shards"], errors: ["UploadNotFound"])
    /// `upload/list`
    public static let uploadList = CapabilityDefinition("upload/list", resource: .didKey, caveats: ["cursor": (.string, false), "size": (.int, false), "pre": (.bool, false)],
                                                        ok: ["cursor", "before", "after", "size", "results"])
    /// `upload/shard/list`
    public static let uploadShardList = CapabilityDefinition("upload/shard/list", resource: .didKey,
                                                             caveats: ["root": (.link, true), "cursor": (.string, false), "size": (.int, false)], ok: ["size", "results", "cursor"])
    /// `usage/report`
    public static let usageReport = CapabilityDefinition("usage/report", resource: .didKey, caveats: ["period": (.map, true)])
    /// `access/authorize`
    public static let accessAuthorize = CapabilityDefinition("access/authorize", resource: .didKey, caveats: ["iss": (.did, false), "att": (.list, true)],
                                                             ok: ["request", "expiration"])
    /// `access/confirm`
    public static let accessConfirm = CapabilityDefinition("access/confirm", resource: .did,
                                                           caveats: ["cause": (.link, true), "iss": (.did, true), "aud": (.did, true), "att": (.list, true)], ok: ["delegations"])
    /// `access/claim`
    public static let accessClaim = CapabilityDefinition("access/claim", resource: .did, ok: ["delegations"])
    /// `access/delegate`
    public static let accessDelegate = CapabilityDefinition("access/delegate", resource: .did, caveats: ["delegations": (.map, true)], ok: [],
                                                            errors: ["DelegationNotFound", "InsufficientStorage"])
    /// `provider/add`
    public static let providerAdd = CapabilityDefinition("provider/add", resource: .didMailto, caveats: ["provider": (.did, true), "consumer": (.did, true)], ok: [],
                                                         errors: ["InvalidProvider", "SpaceAlreadyProvisioned", "AccountBlocked", "AccountPlanMissing", "Unauthorized"])
    /// `plan/get`
    public static let planGet = CapabilityDefinition("plan/get", resource: .didMailto, ok: ["updatedAt", "product", "limit"], errors: ["PlanNotFound"])
    /// `subscription/list`
    public static let subscriptionList = CapabilityDefinition("subscription/list", resource: .didMailto, ok: ["results"])
    /// `filecoin/offer`
    public static let filecoinOffer = CapabilityDefinition("filecoin/offer", resource: .did, caveats: ["content": (.link, true), "piece": (.link, true), "PDP": (.link, false)],
                                                           ok: ["piece"])
    /// `filecoin/info`
    public static let filecoinInfo = CapabilityDefinition("filecoin/info", resource: .did, caveats: ["piece": (.link, true)], ok: ["piece", "aggregates", "deals"])
    /// `ucan/conclude`
    public static let ucanConclude = CapabilityDefinition("ucan/conclude", resource: .did, caveats: ["receipt": (.link, true)], ok: ["time"])
    /// `ucan/revoke`
    public static let ucanRevoke = CapabilityDefinition("ucan/revoke", resource: .did, caveats: ["ucan": (.link, true), "proof": (.list, false)], ok: ["time"])
    /// `ucan/attest` (service session proofs)
    public static let ucanAttest = CapabilityDefinition("ucan/attest", resource: .did, caveats: ["proof": (.link, true)])
    /// `assert/location` (location commitments)
    public static let assertLocation = CapabilityDefinition("assert/location", resource: .did,
                                                            caveats: ["content": (.any, true), "location": (.list, true), "range": (.map, false), "space": (.did, false)])

    /// Every definition, by ability.
    public static let all: [String: CapabilityDefinition] = Dictionary(uniqueKeysWithValues: [
        spaceBlobAdd, spaceBlobRemove, spaceBlobList, spaceBlobGet, spaceBlobReplicate, spaceIndexAdd, spaceInfo, blobAllocate, blobAccept, httpPut,
        uploadAdd, uploadGet, uploadRemove, uploadList, uploadShardList, usageReport, accessAuthorize, accessConfirm, accessClaim, accessDelegate,
        providerAdd, planGet, subscriptionList, filecoinOffer, filecoinInfo, ucanConclude, ucanRevoke, ucanAttest, assertLocation,
    ].map { ($0.can, $0) })

    /// The abilities a space owner delegates to an agent (`spaceAccess` in the JS client).
    public static let spaceAccess = ["assert/*", "space/*", "blob/*", "index/*", "store/*", "upload/*", "access/*", "filecoin/*", "usage/*"]
}
