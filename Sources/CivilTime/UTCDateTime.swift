import struct Foundation.Date

/// A moment in UTC split into its calendar fields (proleptic Gregorian calendar), computed by arithmetic alone.
///
/// Foundation's `DateFormatter`, `ISO8601DateFormatter` and `Calendar` go through ICU, which links some 34 MB of
/// internationalization data into a static binary; the fixed, locale-free formats of the protocols spoken here
/// (JavaScript's `toISOString`, HTTP dates, SigV4's `x-amz-date`) need none of it.
public struct UTCDateTime: Sendable, Hashable {
    /// The year (four digits for the years 1 to 9999).
    public let year: Int
    /// The month, 1 to 12.
    public let month: Int
    /// The day of the month, 1 to 31.
    public let day: Int
    /// The hour, 0 to 23.
    public let hour: Int
    /// The minute, 0 to 59.
    public let minute: Int
    /// The second, 0 to 59.
    public let second: Int
    /// The millisecond, 0 to 999.
    public let millisecond: Int

    /// The fields of `date`, its fraction of a millisecond dropped (as JavaScript's `Date` does).
    public init(_ date: Date) {
        self.init(milliseconds: Int64((date.timeIntervalSince1970 * 1000).rounded(.down)))
    }

    /// The fields of a count of milliseconds since 1970-01-01T00:00:00Z.
    public init(milliseconds: Int64) {
        let seconds = Self.floorDivide(milliseconds, 1000)
        let days = Self.floorDivide(seconds, 86_400)
        let daySeconds = Int(seconds - days * 86_400)
        let (y, m, d) = Self.civil(days: days)
        (year, month, day) = (Int(y), m, d)
        (hour, minute, second) = (daySeconds / 3600, daySeconds / 60 % 60, daySeconds % 60)
        millisecond = Int(milliseconds - seconds * 1000)
    }

    /// The given fields, or nil when one is out of its range (a 31 April, a 29 February outside a leap year, a 24th hour).
    public init?(year: Int, month: Int, day: Int, hour: Int = 0, minute: Int = 0, second: Int = 0, millisecond: Int = 0) {
        guard (1...12).contains(month), (1...Self.daysIn(month: month, year: year)).contains(day), (0..<24).contains(hour),
              (0..<60).contains(minute), (0..<60).contains(second), (0..<1000).contains(millisecond) else { return nil }
        (self.year, self.month, self.day) = (year, month, day)
        (self.hour, self.minute, self.second, self.millisecond) = (hour, minute, second, millisecond)
    }

    /// Whole seconds since 1970-01-01T00:00:00Z.
    public var secondsSince1970: Int64 {
        Self.days(year: Int64(year), month: month, day: day) * 86_400 + Int64(hour * 3600 + minute * 60 + second)
    }

    /// The moment as a `Date`.
    public var date: Date {
        Date(timeIntervalSince1970: Double(secondsSince1970) + Double(millisecond) / 1000)
    }

    /// The day of the week, 0 for Sunday to 6 for Saturday.
    public var weekday: Int {
        let days = Self.days(year: Int64(year), month: month, day: day)
        return Int(((days + 4) % 7 + 7) % 7)
    }

    /// ISO 8601 in UTC: `2009-10-12T17:50:30.000Z` with milliseconds (JavaScript's `Date.toISOString()`, S3 listings),
    /// `2009-10-12T17:50:30Z` without.
    public func iso8601(milliseconds: Bool = true) -> String {
        let date = "\(Self.pad(year, 4))-\(Self.pad(month, 2))-\(Self.pad(day, 2))"
        let time = "\(Self.pad(hour, 2)):\(Self.pad(minute, 2)):\(Self.pad(second, 2))"
        return "\(date)T\(time)\(milliseconds ? "." + Self.pad(millisecond, 3) : "")Z"
    }

    /// The IMF-fixdate of RFC 9110 (`Sun, 06 Nov 1994 08:49:37 GMT`), for `Last-Modified` and `Date` headers.
    public var httpDate: String {
        let time = "\(Self.pad(hour, 2)):\(Self.pad(minute, 2)):\(Self.pad(second, 2))"
        return "\(Self.weekdays[weekday]), \(Self.pad(day, 2)) \(Self.months[month - 1]) \(Self.pad(year, 4)) \(time) GMT"
    }

    /// The first instant of the month before this one.
    public var startOfPreviousMonth: UTCDateTime {
        let (y, m) = month == 1 ? (year - 1, 12) : (year, month - 1)
        return UTCDateTime(milliseconds: Self.days(year: Int64(y), month: m, day: 1) * 86_400_000)
    }

    /// Three-letter English weekday names from Sunday, as HTTP dates write them.
    static let weekdays = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
    /// Three-letter English month names, as HTTP dates write them.
    static let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

    static func pad(_ n: Int, _ width: Int) -> String {
        let digits = String(n)
        return digits.count >= width ? digits : String(repeating: "0", count: width - digits.count) + digits
    }

    static func floorDivide(_ a: Int64, _ b: Int64) -> Int64 { a >= 0 ? a / b : -((-a + b - 1) / b) }

    static func isLeap(_ year: Int) -> Bool { year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) }

    static func daysIn(month: Int, year: Int) -> Int {
        month == 2 ? (isLeap(year) ? 29 : 28) : [4, 6, 9, 11].contains(month) ? 30 : 31
    }

    /// Days since 1970-01-01 of a civil date (H. Hinnant's `days_from_civil`).
    static func days(year: Int64, month: Int, day: Int) -> Int64 {
        let y = month <= 2 ? year - 1 : year
        let era = floorDivide(y, 400)
        let yoe = y - era * 400
        let doy = Int64((153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1)
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    /// The civil date of a count of days since 1970-01-01 (H. Hinnant's `civil_from_days`).
    static func civil(days: Int64) -> (year: Int64, month: Int, day: Int) {
        let z = days + 719_468
        let era = floorDivide(z, 146_097)
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = Int(doy - (153 * mp + 2) / 5 + 1)
        let m = Int(mp < 10 ? mp + 3 : mp - 9)
        return (yoe + era * 400 + (m <= 2 ? 1 : 0), m, d)
    }
}
