import CivilTime
import Foundation
import Testing

@Suite struct UTCDateTimeTests {
    /// Foundation's ICU-backed formatters, kept here (in tests only) as the reference the arithmetic must match.
    static func reference(_ date: Date, milliseconds: Bool) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = milliseconds ? [.withInternetDateTime, .withFractionalSeconds] : [.withInternetDateTime]
        return formatter.string(from: date)
    }

    static func referenceHTTP(_ date: Date) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss 'GMT'"
        return formatter.string(from: date)
    }

    @Test func formatsAsFoundationDoesOverFourCenturies() {
        var generator = SystemRandomNumberGenerator()
        // Whole milliseconds from 1970 to 2400, plus the edges: leap days, century years, the epoch itself.
        var moments: [Int64] = [0, 951_782_400_000, 951_868_799_999, 4_107_542_400_000, 13_574_563_200_000, 1_709_164_800_123]
        for _ in 0..<5_000 { moments.append(Int64.random(in: 0..<13_569_465_600_000, using: &generator)) }
        for ms in moments {
            let date = Date(timeIntervalSince1970: Double(ms) / 1000)
            let time = UTCDateTime(milliseconds: ms)
            #expect(time.iso8601() == Self.reference(date, milliseconds: true), "\(ms)")
            #expect(time.iso8601(milliseconds: false) == Self.reference(date, milliseconds: false), "\(ms)")
            #expect(time.httpDate == Self.referenceHTTP(date), "\(ms)")
            #expect(time.secondsSince1970 == ms / 1000)
            #expect(UTCDateTime(httpDate: time.httpDate)?.secondsSince1970 == ms / 1000)
            let amzDate = time.iso8601(milliseconds: false).filter { $0 != "-" && $0 != ":" }
            #expect(UTCDateTime(amzDate: amzDate)?.secondsSince1970 == ms / 1000, "\(amzDate)")
        }
    }

    @Test func knownValues() {
        #expect(UTCDateTime(milliseconds: 0).iso8601() == "1970-01-01T00:00:00.000Z")
        #expect(UTCDateTime(milliseconds: -1).iso8601() == "1969-12-31T23:59:59.999Z")
        #expect(UTCDateTime(milliseconds: 784_111_777_000).httpDate == "Sun, 06 Nov 1994 08:49:37 GMT")
        #expect(UTCDateTime(amzDate: "20130524T000000Z")?.secondsSince1970 == 1_369_353_600)
        // A Date with a fraction below a millisecond is truncated, as JavaScript's Date keeps whole milliseconds.
        #expect(UTCDateTime(Date(timeIntervalSince1970: 1.9999)).iso8601() == "1970-01-01T00:00:01.999Z")
    }

    @Test func readsTheThreeHTTPDateForms() {
        let expected: Int64 = 784_111_777
        #expect(UTCDateTime(httpDate: "Sun, 06 Nov 1994 08:49:37 GMT")?.secondsSince1970 == expected)
        #expect(UTCDateTime(httpDate: "Sunday, 06-Nov-94 08:49:37 GMT")?.secondsSince1970 == expected)
        #expect(UTCDateTime(httpDate: "Sun Nov  6 08:49:37 1994")?.secondsSince1970 == expected)
        #expect(UTCDateTime(httpDate: "Thursday, 01-Jan-04 00:00:00 GMT")?.year == 2004)
        for bad in ["", "yesterday", "Sun, 31 Feb 1994 08:49:37 GMT", "Sun, 06 Nov 1994 24:00:00 GMT", "Sun, 06 Nov 1994 08:49 GMT",
                    "Sun, 06 Nov 1994 08:49:37 PST", "Sun, 06 Foo 1994 08:49:37 GMT", "Xyz, 06 Nov 1994 08:49:37 GMT",
                    "Sun, 06 Nov 19944 08:49:37 GMT", "Sun, +6 Nov 1994 08:49:37 GMT", "Sun Nov  6 08:49:37"] {
            #expect(UTCDateTime(httpDate: bad) == nil, "\(bad)")
        }
    }

    @Test func readsAmzDatesAndRefusesTheRest() {
        #expect(UTCDateTime(amzDate: "20240229T235959Z")?.iso8601(milliseconds: false) == "2024-02-29T23:59:59Z")
        for bad in ["20230229T000000Z", "20131324T000000Z", "20130524T000000", "2013-05-24T00:00:00Z", "2013052AT000000Z",
                    "20130524T240000Z", "20130524 000000Z", "２0130524T000000Z"] {
            #expect(UTCDateTime(amzDate: bad) == nil, "\(bad)")
        }
    }

    @Test func startOfThePreviousMonth() {
        func start(_ text: String) -> String? { UTCDateTime(amzDate: text)?.startOfPreviousMonth.iso8601() }
        #expect(start("20260115T120000Z") == "2025-12-01T00:00:00.000Z")
        #expect(start("20260331T235959Z") == "2026-02-01T00:00:00.000Z")
        #expect(start("20261203T174955Z") == "2026-11-01T00:00:00.000Z")
    }
}
