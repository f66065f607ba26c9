extension UTCDateTime {
    /// Reads an HTTP date in any of the three forms RFC 9110 §5.6.7 asks recipients to accept: the IMF-fixdate
    /// `Sun, 06 Nov 1994 08:49:37 GMT` that clients send, the obsolete RFC 850 `Sunday, 06-Nov-94 08:49:37 GMT`
    /// and asctime's `Sun Nov  6 08:49:37 1994`. Nil for anything else.
    public init?(httpDate text: String) {
        let words = text.split(separator: " ")
        let fields: (day: Substring, month: Substring, year: Substring, time: Substring)
        if words.count == 6, words[0].hasSuffix(","), words[5] == "GMT" || words[5] == "UTC" {
            guard Self.weekdays.contains(String(words[0].dropLast())) else { return nil }
            fields = (words[1], words[2], words[3], words[4])
        } else if words.count == 4, words[0].hasSuffix(","), words[3] == "GMT" || words[3] == "UTC" {
            let parts = words[1].split(separator: "-", omittingEmptySubsequences: false)
            guard parts.count == 3, parts[2].count == 2, Self.longWeekdays.contains(String(words[0].dropLast())) else { return nil }
            fields = (parts[0], parts[1], parts[2], words[2])
        } else if words.count == 5, Self.weekdays.contains(String(words[0])) {
            fields = (words[2], words[1], words[4], words[3])
        } else {
            return nil
        }
        let clock = fields.time.split(separator: ":", omittingEmptySubsequences: false)
        guard (1...2).contains(fields.day.count), fields.year.count == 4 || fields.year.count == 2, clock.count == 3,
              clock.allSatisfy({ $0.count == 2 }),
              let month = Self.months.firstIndex(of: String(fields.month)), let day = Self.number(fields.day),
              var year = Self.number(fields.year), let hour = Self.number(clock[0]), let minute = Self.number(clock[1]),
              let second = Self.number(clock[2]) else { return nil }
        // RFC 850's two-digit years: 70 to 99 are the 1900s, the rest the 2000s (HTTP dates cannot precede 1970).
        if fields.year.count == 2 { year += year >= 70 ? 1900 : 2000 }
        self.init(year: year, month: month + 1, day: day, hour: hour, minute: minute, second: second)
    }

    /// Reads SigV4's `yyyyMMdd'T'HHmmss'Z'`. Nil for anything else.
    public init?(amzDate text: String) {
        let chars = Array(text.utf8)
        guard chars.count == 16, chars[8] == UInt8(ascii: "T"), chars[15] == UInt8(ascii: "Z"),
              let year = Self.number(chars[0..<4]), let month = Self.number(chars[4..<6]),
              let day = Self.number(chars[6..<8]), let hour = Self.number(chars[9..<11]),
              let minute = Self.number(chars[11..<13]), let second = Self.number(chars[13..<15]) else { return nil }
        self.init(year: year, month: month, day: day, hour: hour, minute: minute, second: second)
    }

    /// Full English weekday names from Sunday, as RFC 850 dates write them.
    static let longWeekdays = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"]

    /// The value of a run of one to four ASCII digits, or nil.
    static func number(_ text: Substring) -> Int? { number(text.utf8) }

    /// The value of a run of one to four ASCII digits, or nil.
    static func number<Bytes: Collection<UInt8>>(_ bytes: Bytes) -> Int? {
        guard (1...4).contains(bytes.count) else { return nil }
        var n = 0
        for byte in bytes {
            guard (0x30...0x39).contains(byte) else { return nil }
            n = n * 10 + Int(byte - 0x30)
        }
        return n
    }
}
