import Foundation

/// One byte range of a representation of known size, from a `Range: bytes=…` header (RFC 9110 §14).
/// Every number in the header is checked: nothing a client sends can overflow.
struct ByteRange: Equatable, Sendable {
    /// First byte.
    let start: UInt64
    /// One past the last byte (never beyond the size).
    let end: UInt64

    /// The range as a half-open interval.
    var span: Range<UInt64> { start..<end }

    /// Parses `bytes=a-b`, `bytes=a-` or `bytes=-n` against `size` (only the first of several ranges is
    /// served). Returns nil when there is no header or its unit is not `bytes` (the header is then
    /// ignored, as RFC 9110 says).
    static func parse(_ header: String?, size: UInt64) throws(ByteRangeError) -> ByteRange? {
        guard let header else { return nil }
        let trimmed = header.drop { $0 == " " || $0 == "\t" }
        guard trimmed.lowercased().hasPrefix("bytes=") else { return nil }
        let spec = trimmed.dropFirst(6).split(separator: ",", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
        let parts = spec.split(separator: "-", maxSplits: 2, omittingEmptySubsequences: false)
            .map { Substring($0.trimmingCharacters(in: .whitespaces)) }
        guard parts.count == 2, !(parts[0].isEmpty && parts[1].isEmpty) else { throw .malformed(header) }
        if parts[0].isEmpty {
            // `bytes=-n`: the last n bytes.
            guard let n = try number(parts[1], header), n > 0, size > 0 else { throw .unsatisfiable(size: size) }
            return ByteRange(start: size - min(n, size), end: size)
        }
        guard let first = try number(parts[0], header) else { throw .malformed(header) }
        let last = try number(parts[1], header) ?? UInt64.max
        guard first < size, last >= first else { throw .unsatisfiable(size: size) }
        return ByteRange(start: first, end: last < size ? last + 1 : size)
    }

    /// A run of ASCII digits (nil when empty); values beyond 2^64 − 1 saturate, as they are past any size.
    static func number(_ s: Substring, _ header: String) throws(ByteRangeError) -> UInt64? {
        guard !s.isEmpty else { return nil }
        var value: UInt64 = 0
        for c in s.utf8 {
            guard c >= 0x30, c <= 0x39 else { throw .malformed(header) }
            let (times10, o1) = value.multipliedReportingOverflow(by: 10)
            let (next, o2) = times10.addingReportingOverflow(UInt64(c - 0x30))
            value = o1 || o2 ? UInt64.max : next
        }
        return value
    }

    /// `Content-Range` of this range within `size`.
    func contentRange(size: UInt64) -> String { "bytes \(start)-\(end - 1)/\(size)" }
}

/// Why a `Range` header cannot be served.
enum ByteRangeError: Error, Equatable, Sendable, CustomStringConvertible {
    /// Not `bytes=first-last`, `bytes=first-` or `bytes=-suffix` with decimal numbers: HTTP 400.
    case malformed(String)
    /// Well-formed but outside the representation: HTTP 416.
    case unsatisfiable(size: UInt64)

    var description: String {
        switch self {
        case .malformed(let h): return "malformed Range header \"\(h.prefix(100))\": expected bytes=first-last, bytes=first- or bytes=-suffix"
        case .unsatisfiable(let size): return "the requested range is outside the content (\(size) bytes)"
        }
    }
}

/// The gateway's `entity-bytes=from:to` parameter: inclusive offsets, negative ones counted from the
/// end, `to` may be `*`. Numbers are parsed and resolved with checked arithmetic.
struct EntityBytes: Equatable, Sendable {
    let from: Int64
    let to: Int64?

    /// Parses `from:to` (64-bit signed offsets, `to` may be `*`); nil when malformed.
    static func parse(_ text: String) -> EntityBytes? {
        let parts = text.split(separator: ":", maxSplits: 2, omittingEmptySubsequences: false)
        guard parts.count == 2, let from = Int64(parts[0]) else { return nil }
        if parts[1] == "*" { return EntityBytes(from: from, to: nil) }
        return Int64(parts[1]).map { EntityBytes(from: from, to: $0) }
    }

    /// The half-open byte range of an entity of `size` bytes (empty when `from` is past `to`).
    func resolve(size: UInt64) -> Range<UInt64> {
        func position(_ v: Int64) -> UInt64 {
            if v >= 0 { return min(UInt64(v), size) }
            let back = v.magnitude  // UInt64: no overflow even for Int64.min
            return back >= size ? 0 : size - back
        }
        let lower = position(from)
        let upper: UInt64
        if let to {
            let last = position(to)  // inclusive
            upper = last >= size ? size : last + 1
        } else {
            upper = size
        }
        return lower..<max(lower, upper)
    }
}
