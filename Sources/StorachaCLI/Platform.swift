// The one place with operating-system specific calls.
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Peak resident memory of this process in bytes, when the platform reports it.
func peakResidentMemoryBytes() -> UInt64? {
    #if canImport(Glibc)
    var usage = rusage()
    guard getrusage(RUSAGE_SELF.rawValue, &usage) == 0 else { return nil }
    return UInt64(usage.ru_maxrss) * 1024  // kilobytes on Linux
    #elseif canImport(Musl)
    var usage = rusage()
    guard getrusage(RUSAGE_SELF, &usage) == 0 else { return nil }
    return UInt64(usage.ru_maxrss) * 1024
    #elseif canImport(Darwin)
    var usage = rusage()
    guard getrusage(RUSAGE_SELF, &usage) == 0 else { return nil }
    return UInt64(usage.ru_maxrss)  // bytes on macOS
    #else
    return nil
    #endif
}
