/// The TIMESTAMP a client signs in PASSWORD_VERIFIER: `EEE MMM d HH:mm:ss UTC yyyy`, English
/// names, the day not zero-padded ("Tue Nov 3 09:05:07 UTC 2026").
public enum CognitoTimestamp {
    static let weekdays = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
    static let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

    /// Seconds since the Unix epoch for `text`; the weekday must agree with the date.
    public static func parse(_ text: String) throws(AuthCryptoError) -> Int64 {
        func bad(_ why: String) -> AuthCryptoError {
            AuthCryptoError(.malformedTimestamp, "TIMESTAMP \"\(text.prefix(64))\": \(why)")
        }
        let parts = text.split(separator: " ", omittingEmptySubsequences: false)
        guard parts.count == 6 else { throw bad("expected 6 space-separated fields") }
        guard let weekday = weekdays.firstIndex(of: String(parts[0])) else { throw bad("unknown weekday") }
        guard let monthIndex = months.firstIndex(of: String(parts[1])) else { throw bad("unknown month") }
        guard parts[2].count <= 2, parts[2].first != "0", let day = Int(parts[2]), day >= 1 else {
            throw bad("day must be 1-31 without a leading zero")
        }
        let clock = parts[3].split(separator: ":", omittingEmptySubsequences: false)
        guard clock.count == 3, clock.allSatisfy({ $0.count == 2 && $0.allSatisfy(\.isASCII) }),
            let hour = Int(clock[0]), let minute = Int(clock[1]), let second = Int(clock[2]),
            (0..<24).contains(hour), (0..<60).contains(minute), (0..<61).contains(second)
        else { throw bad("time must be HH:mm:ss") }
        guard parts[4] == "UTC" else { throw bad("zone must be UTC") }
        guard parts[5].count == 4, let year = Int(parts[5]), year >= 1970 else { throw bad("year must be four digits") }
        guard day <= daysIn(month: monthIndex + 1, year: year) else { throw bad("no such day in that month") }
        let days = daysFromCivil(year: year, month: monthIndex + 1, day: day)
        // 1970-01-01 was a Thursday.
        guard (days % 7 + 11) % 7 == weekday else { throw bad("weekday does not match the date") }
        return days * 86_400 + Int64(hour * 3600 + minute * 60 + second)
    }

    /// Formats `seconds` since the epoch the way clients do.
    public static func format(_ seconds: Int64) -> String {
        let days = seconds >= 0 ? seconds / 86_400 : (seconds - 86_399) / 86_400
        let rest = Int(seconds - days * 86_400)
        let (y, m, d) = civilFromDays(days)
        let weekday = Int((days % 7 + 11) % 7)
        func two(_ n: Int) -> String { n < 10 ? "0\(n)" : "\(n)" }
        return
            "\(weekdays[weekday]) \(months[m - 1]) \(d) \(two(rest / 3600)):\(two(rest / 60 % 60)):\(two(rest % 60)) "
            + "UTC \(y)"
    }

    static func isLeap(_ y: Int) -> Bool { y % 4 == 0 && (y % 100 != 0 || y % 400 == 0) }

    static func daysIn(month: Int, year: Int) -> Int {
        switch month {
        case 2: isLeap(year) ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }

    /// Days since 1970-01-01 (Howard Hinnant's civil calendar algorithm).
    static func daysFromCivil(year: Int, month: Int, day: Int) -> Int64 {
        let y = Int64(month <= 2 ? year - 1 : year)
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let mp = Int64((month + 9) % 12)
        let doy = (153 * mp + 2) / 5 + Int64(day) - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    static func civilFromDays(_ z0: Int64) -> (Int, Int, Int) {
        let z = z0 + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
        let y = yoe + era * 400
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        return (Int(m <= 2 ? y + 1 : y), Int(m), Int(d))
    }
}
