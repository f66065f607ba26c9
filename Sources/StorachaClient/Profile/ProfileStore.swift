import Foundation
import SystemIO
import UCAN

/// Where the agent profile lives and how it is read and written: the official CLI's `conf` file
/// (`w3access/<profile>.json` in the user's config directory), replaced atomically with mode 0600.
public struct ProfileStore: Sendable {
    /// The profile file.
    public let url: URL

    /// The store at `url`.
    public init(url: URL) { self.url = url }

    /// The official CLI's default profile name.
    public static let defaultName = "storacha-cli"

    /// The profile for `network` under `environment`: `STORACHA_STORE_NAME` (default `storacha-cli`),
    /// with `-local` appended on the local network so that local experiments never touch it.
    public static func forNetwork(_ network: Network, environment: [String: String]) -> ProfileStore {
        var name = environment["STORACHA_STORE_NAME"].flatMap { $0.isEmpty ? nil : $0 } ?? defaultName
        if network.name == "local" { name += "-local" }
        return ProfileStore(url: configDirectory(environment).appendingPathComponent("\(name).json"))
    }

    /// `env-paths('w3access').config`: the directory the JS `conf` package uses on this platform.
    public static func configDirectory(_ environment: [String: String]) -> URL {
        let home = environment["HOME"].flatMap { $0.isEmpty ? nil : $0 } ?? NSHomeDirectory()
        #if os(macOS)
        return URL(fileURLWithPath: home).appendingPathComponent("Library/Preferences/w3access")
        #elseif os(Windows)
        let appData = environment["APPDATA"] ?? (home + "\\AppData\\Roaming")
        return URL(fileURLWithPath: appData).appendingPathComponent("w3access").appendingPathComponent("Config")
        #else
        let base = environment["XDG_CONFIG_HOME"].flatMap { $0.isEmpty ? nil : $0 } ?? (home + "/.config")
        return URL(fileURLWithPath: base).appendingPathComponent("w3access")
        #endif
    }

    /// The stored profile, or `nil` when there is none yet (a missing or empty file, as `conf` treats it).
    public func load() throws(ProfileError) -> AgentProfile? {
        guard FileManager.default.fileExists(atPath: url.path) else { return nil }
        let data: Data
        do { data = try Data(contentsOf: url) } catch { throw ProfileError("cannot read \(url.path): \(error.localizedDescription)") }
        if data.isEmpty || data.allSatisfy({ $0 == 0x20 || $0 == 0x0a || $0 == 0x0d || $0 == 0x09 }) { return nil }
        if let empty = try? JSONValue.parse(data), case .object(let members) = empty, members.isEmpty { return nil }
        do { return try AgentProfile(json: data) } catch {
            throw ProfileError("\(url.path) is not a readable agent profile (\(error)); move it away to start a new agent")
        }
    }

    /// Replaces the profile with `profile` (temp file, fsync, rename; mode 0600).
    public func save(_ profile: AgentProfile) throws(ProfileError) {
        do {
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true,
                                                    attributes: [.posixPermissions: 0o700])
            try DurableFile.write(profile.json(), to: url, permissions: 0o600)
        } catch {
            throw ProfileError("cannot write the agent profile \(url.path): \(error)")
        }
    }
}
