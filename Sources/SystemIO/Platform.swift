// The one place with operating-system specific calls.
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#elseif canImport(WinSDK)
import WinSDK
#endif
import Foundation

/// Operating-system calls that Foundation does not offer portably.
public enum Platform {
    /// `rename(2)`: atomically replaces `destination`; returns the error text on failure.
    static func rename(_ source: String, _ destination: String) -> String? {
        #if os(Windows)
        do {
            if FileManager.default.fileExists(atPath: destination) {
                _ = try FileManager.default.replaceItemAt(URL(fileURLWithPath: destination), withItemAt: URL(fileURLWithPath: source))
            } else {
                try FileManager.default.moveItem(atPath: source, toPath: destination)
            }
            return nil
        } catch { return "\(error)" }
        #else
        return Foundation.rename(source, destination) == 0 ? nil : String(cString: strerror(errno))
        #endif
    }

    /// Creates `path`, which must not exist, for writing with `permissions`, in one system call.
    static func createExclusive(_ path: String, permissions: UInt16) throws -> FileHandle {
        #if os(Windows)
        guard !FileManager.default.fileExists(atPath: path),
              FileManager.default.createFile(atPath: path, contents: nil, attributes: [.posixPermissions: permissions]) else {
            throw DurableFileError(path: path, operation: "create")
        }
        return try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        #else
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode_t(permissions))
        guard fd >= 0 else { throw DurableFileError(path: path, operation: "create", reason: String(cString: strerror(errno))) }
        return FileHandle(fileDescriptor: fd, closeOnDealloc: true)
        #endif
    }

    /// Takes an exclusive advisory lock on the file `path` (created if needed, 0600), held while the returned
    /// handle stays open and released by the system when the process ends; nil when another holder has it.
    /// (Windows: no advisory locks here; always granted.)
    public static func lockExclusively(_ path: String) throws -> FileHandle? {
        #if os(Windows)
        if !FileManager.default.fileExists(atPath: path) { FileManager.default.createFile(atPath: path, contents: nil) }
        return try FileHandle(forUpdating: URL(fileURLWithPath: path))
        #else
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, mode_t(0o600))
        guard fd >= 0 else { throw DurableFileError(path: path, operation: "open", reason: String(cString: strerror(errno))) }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            let reason = errno
            close(fd)
            if reason == EWOULDBLOCK { return nil }
            throw DurableFileError(path: path, operation: "lock", reason: String(cString: strerror(reason)))
        }
        return FileHandle(fileDescriptor: fd, closeOnDealloc: true)
        #endif
    }

    /// fsyncs a directory so that entries created, renamed or removed in it are durable.
    static func syncDirectory(_ path: String) -> String? {
        #if os(Windows)
        return nil  // NTFS journals directory entries; there is no directory fsync.
        #else
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { return String(cString: strerror(errno)) }
        defer { close(fd) }
        return fsync(fd) == 0 ? nil : String(cString: strerror(errno))
        #endif
    }

    /// Turns the page cache off (`on`) or back on for writes to the open file `descriptor`: Linux `O_DIRECT`
    /// (writes then need buffers, lengths and offsets aligned to ``directIOAlignment``), Darwin `F_NOCACHE`.
    /// Returns false where the platform or the file system has no such mode.
    static func setUncached(_ descriptor: Int32, _ on: Bool) -> Bool {
        #if os(Linux) && (arch(x86_64) || arch(i386) || arch(arm64) || arch(arm))
        // Glibc's module leaves O_DIRECT out (it is a _GNU_SOURCE name); its value depends on the architecture.
        #if arch(x86_64) || arch(i386)
        let direct: Int32 = 0o40000
        #else
        let direct: Int32 = 0o200000
        #endif
        let flags = fcntl(descriptor, F_GETFL)
        guard flags >= 0 else { return false }
        return fcntl(descriptor, F_SETFL, on ? flags | direct : flags & ~direct) == 0
        #elseif canImport(Darwin)
        return fcntl(descriptor, F_NOCACHE, on ? 1 : 0) == 0
        #else
        return false
        #endif
    }

    /// The alignment uncached writes keep (a multiple of every common logical block size).
    static let directIOAlignment = 4096

    /// `sync(2)`: writes every file system's dirty pages out, so that a benchmark does not pay for the previous one's.
    public static func flushFileSystems() {
        #if !os(Windows)
        sync()
        #endif
    }

    /// `true` when standard input (0), output (1) or error (2) is a terminal.
    public static func isTerminal(_ descriptor: Int32) -> Bool {
        #if os(Windows)
        return _isatty(descriptor) != 0
        #else
        return isatty(descriptor) == 1
        #endif
    }

    /// Peak resident memory of this process in bytes, when the platform reports it.
    public static func peakResidentMemoryBytes() -> UInt64? { peakResidentMemory(children: false) }

    /// The largest peak resident memory among this process's waited-for children, in bytes.
    public static func peakResidentMemoryOfChildrenBytes() -> UInt64? { peakResidentMemory(children: true) }

    /// The peak resident memory of another running process, where the system reports it (Linux: `VmHWM`).
    public static func peakResidentMemory(ofProcess pid: Int32) -> UInt64? {
        #if os(Linux)
        guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
              let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }),
              let kilobytes = UInt64(line.dropFirst(6).trimmingCharacters(in: .whitespaces).split(separator: " ").first ?? "") else { return nil }
        return kilobytes * 1024
        #else
        return nil
        #endif
    }

    /// CPU time (user and system) that this process's waited-for children have used so far, in seconds.
    public static func childrenCPUSeconds() -> Double? {
        #if canImport(Glibc) || canImport(Musl) || canImport(Darwin)
        guard let usage = resourceUsage(children: true) else { return nil }
        func seconds(_ t: timeval) -> Double { Double(t.tv_sec) + Double(t.tv_usec) / 1e6 }
        return seconds(usage.ru_utime) + seconds(usage.ru_stime)
        #else
        return nil
        #endif
    }

    /// CPU time (user and system) that another running process has used so far, in seconds (Linux: `/proc/PID/stat`).
    public static func cpuSeconds(ofProcess pid: Int32) -> Double? {
        #if os(Linux)
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let end = stat.lastIndex(of: ")") else { return nil }
        // After the command name's closing parenthesis: the state (field 3), …, utime (14) and stime (15), in ticks.
        let fields = stat[stat.index(after: end)...].split(separator: " ")
        guard fields.count > 12, let user = Double(fields[11]), let system = Double(fields[12]) else { return nil }
        return (user + system) / Double(sysconf(Int32(_SC_CLK_TCK)))
        #else
        return nil
        #endif
    }

    static func peakResidentMemory(children: Bool) -> UInt64? {
        #if canImport(Glibc) || canImport(Musl)
        return resourceUsage(children: children).map { UInt64($0.ru_maxrss) * 1024 }  // kilobytes on Linux
        #elseif canImport(Darwin)
        return resourceUsage(children: children).map { UInt64($0.ru_maxrss) }  // bytes on macOS
        #else
        return nil
        #endif
    }

    #if canImport(Glibc) || canImport(Musl) || canImport(Darwin)
    /// `getrusage(2)` of this process, or of its waited-for children.
    static func resourceUsage(children: Bool) -> rusage? {
        var usage = rusage()
        #if canImport(Glibc)
        guard getrusage(children ? RUSAGE_CHILDREN.rawValue : RUSAGE_SELF.rawValue, &usage) == 0 else { return nil }
        #else
        guard getrusage(children ? RUSAGE_CHILDREN : RUSAGE_SELF, &usage) == 0 else { return nil }
        #endif
        return usage
    }
    #endif
}
