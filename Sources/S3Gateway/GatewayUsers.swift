import Foundation
import StorachaClient
import SystemIO

/// One user of the gateway: the keys they sign with and the buckets they may use. A bucket pattern is a name, a
/// prefix ending in `*` (`alice-*`), or `*` for every bucket of the space. Writing implies reading.
public struct GatewayUser: Sendable, Equatable {
    public var name: String
    public var accessKey: String
    public var secretKey: String
    public var write: [String]
    public var read: [String]

    public init(name: String, accessKey: String, secretKey: String, write: [String], read: [String]) {
        self.name = name
        self.accessKey = accessKey
        self.secretKey = secretKey
        self.write = write
        self.read = read
    }

    /// Whether `bucket` matches one of `patterns`.
    static func matches(_ bucket: String, _ patterns: [String]) -> Bool {
        patterns.contains { $0 == "*" || $0 == bucket || ($0.hasSuffix("*") && bucket.hasPrefix(String($0.dropLast()))) }
    }

    func may(_ access: GatewayAccess, _ bucket: String) -> Bool {
        GatewayUser.matches(bucket, write) || (access == .read && GatewayUser.matches(bucket, read))
    }
}

/// What a request does to a bucket.
public enum GatewayAccess: Sendable { case read, write }

/// The gateway's users: one (the gateway's own keys, every bucket) or those of a users file (`--users FILE`, JSON,
/// mode 0600), read again whenever the file changes, so that `storacha s3 user add|rm` takes effect at once.
public final class GatewayUsers: Sendable {
    private struct State: Sendable {
        var users: [GatewayUser]
        var modified: Date?
        var checked: ContinuousClock.Instant
    }

    private let file: URL?
    private let state: Locked<State>

    /// One user with every bucket.
    public init(single accessKey: String, secretKey: String) {
        file = nil
        state = Locked(State(users: [GatewayUser(name: "gateway", accessKey: accessKey, secretKey: secretKey, write: ["*"], read: [])],
                             modified: nil, checked: .now))
    }

    /// The users of `file`; throws when it cannot be read, is not a users file, or others may read it.
    public init(file: URL) throws {
        self.file = file
        let (users, modified) = try GatewayUsers.load(file)
        state = Locked(State(users: users, modified: modified, checked: .now))
    }

    /// Whether the users come from a file (buckets then keep the owner their snapshot names).
    public var fromFile: Bool { file != nil }

    /// The current users (the file is looked at again at most once a second).
    public var users: [GatewayUser] {
        guard let file else { return state.value.users }
        let now = ContinuousClock.now
        let due = state.update { s -> Date?? in
            guard now - s.checked >= .seconds(1) else { return .none }
            s.checked = now
            return .some(s.modified)
        }
        if case .some(let known) = due, let modified = GatewayUsers.modified(file), modified != known,
           let (users, stamp) = try? GatewayUsers.load(file) {
            state.update { $0.users = users; $0.modified = stamp }
        }
        return state.value.users
    }

    /// The secret of `accessKey`, or nil when no user has it.
    public func secret(for accessKey: String) -> String? { users.first { $0.accessKey == accessKey }?.secretKey }

    /// Whether the user with `accessKey` may `access` `bucket`.
    func may(_ accessKey: String, _ access: GatewayAccess, _ bucket: String) -> Bool {
        users.first { $0.accessKey == accessKey }?.may(access, bucket) ?? false
    }

    static func modified(_ file: URL) -> Date? {
        (try? FileManager.default.attributesOfItem(atPath: file.path))?[.modificationDate] as? Date
    }

    static func load(_ file: URL) throws -> ([GatewayUser], Date?) {
        let attributes: [FileAttributeKey: Any]
        do { attributes = try FileManager.default.attributesOfItem(atPath: file.path) } catch {
            throw S3GatewayError("cannot read the users file \(file.path): \(error.localizedDescription)")
        }
        #if !os(Windows)
        if let mode = (attributes[.posixPermissions] as? NSNumber)?.uint16Value, mode & 0o077 != 0 {
            throw S3GatewayError("the users file \(file.path) holds secrets and may be read by others: chmod 600 \(file.path)")
        }
        #endif
        let users = try UsersFile.decode(try Data(contentsOf: file), path: file.path)
        return (users, attributes[.modificationDate] as? Date)
    }
}

/// The users file: `{"users": [{"name", "accessKey", "secretKey", "write": [pattern…], "read": [pattern…]}]}`.
public enum UsersFile {
    /// The users of a file's bytes.
    public static func decode(_ data: Data, path: String) throws -> [GatewayUser] {
        func bad(_ why: String) -> S3GatewayError { S3GatewayError("\(path) is not a users file: \(why)") }
        guard case .object(let top)? = try? JSONValue.parse(data), let list = top.first(where: { $0.0 == "users" })?.1,
              case .array(let items) = list else { throw bad("expected {\"users\": [...]}") }
        var seen: Set<String> = []
        return try items.map { item in
            guard case .object(let fields) = item else { throw bad("a user is not an object") }
            func text(_ name: String) throws -> String {
                guard let value = fields.first(where: { $0.0 == name })?.1.stringValue, !value.isEmpty else { throw bad("a user has no \(name)") }
                return value
            }
            func patterns(_ name: String) throws -> [String] {
                guard let value = fields.first(where: { $0.0 == name })?.1 else { return [] }
                guard case .array(let list) = value else { throw bad("\(name) is not a list") }
                return try list.map { guard let s = $0.stringValue else { throw bad("\(name) holds a non-string") }; return s }
            }
            let user = GatewayUser(name: try text("name"), accessKey: try text("accessKey"), secretKey: try text("secretKey"),
                                   write: try patterns("write"), read: try patterns("read"))
            guard seen.insert(user.accessKey).inserted else { throw bad("access key \(user.accessKey) appears twice") }
            return user
        }
    }

    /// A file's bytes for `users`.
    public static func encode(_ users: [GatewayUser]) -> Data {
        let list = users.map { u -> JSONValue in
            .object([("name", .string(u.name)), ("accessKey", .string(u.accessKey)), ("secretKey", .string(u.secretKey)),
                     ("write", .array(u.write.map { .string($0) })), ("read", .array(u.read.map { .string($0) }))])
        }
        return Data((JSONValue.object([("users", .array(list))]).serialized() + "\n").utf8)
    }
}
