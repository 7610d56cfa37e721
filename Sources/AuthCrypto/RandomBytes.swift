extension RandomNumberGenerator {
    /// `count` random bytes, eight from each draw (little-endian).
    ///
    /// Drawing a `UInt8` at a time throws away seven bytes of every draw, and on Linux each
    /// draw of the system generator is a `getrandom` system call: a sign-in's secret b, two
    /// nonces and its token ids took about 40 of them.
    public mutating func bytes(_ count: Int) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: count)
        var i = 0
        while i < count {
            var word = next()
            for _ in 0..<min(8, count - i) {
                out[i] = UInt8(truncatingIfNeeded: word)
                word >>= 8
                i += 1
            }
        }
        return out
    }
}

/// A random (version 4, RFC 9562) UUID in lowercase text, from `rng`: Foundation's `UUID()`
/// on Linux opens and reads /dev/urandom for every one.
public func randomUUIDString(using rng: inout some RandomNumberGenerator) -> String {
    var b = rng.bytes(16)
    b[6] = b[6] & 0x0F | 0x40  // version 4
    b[8] = b[8] & 0x3F | 0x80  // the RFC's variant
    let digits = Array("0123456789abcdef".utf8)
    var text: [UInt8] = []
    text.reserveCapacity(36)
    for (i, byte) in b.enumerated() {
        if i == 4 || i == 6 || i == 8 || i == 10 { text.append(UInt8(ascii: "-")) }
        text.append(digits[Int(byte >> 4)])
        text.append(digits[Int(byte & 0x0F)])
    }
    return String(decoding: text, as: UTF8.self)
}

/// A time-ordered (version 7, RFC 9562) UUID in lowercase text: the first 48 bits are
/// `milliseconds` since 1970, the rest random. Token families are named by one, so the
/// time a family began can be read back from its `origin_jti` (`uuidMilliseconds`).
public func timeOrderedUUIDString(milliseconds: Int64, using rng: inout some RandomNumberGenerator) -> String {
    var b = rng.bytes(16)
    let ms = UInt64(max(0, milliseconds))
    for i in 0..<6 { b[i] = UInt8(truncatingIfNeeded: ms >> (8 * UInt64(5 - i))) }
    b[6] = b[6] & 0x0F | 0x70  // version 7
    b[8] = b[8] & 0x3F | 0x80  // the RFC's variant
    let digits = Array("0123456789abcdef".utf8)
    var text: [UInt8] = []
    text.reserveCapacity(36)
    for (i, byte) in b.enumerated() {
        if i == 4 || i == 6 || i == 8 || i == 10 { text.append(UInt8(ascii: "-")) }
        text.append(digits[Int(byte >> 4)])
        text.append(digits[Int(byte & 0x0F)])
    }
    return String(decoding: text, as: UTF8.self)
}

/// The milliseconds a version 7 UUID carries (nil for any other text).
public func uuidMilliseconds(_ uuid: String) -> Int64? {
    let hex = uuid.utf8.filter { $0 != UInt8(ascii: "-") }
    guard uuid.utf8.count == 36, hex.count == 32, hex[12] == UInt8(ascii: "7") else { return nil }
    var ms: Int64 = 0
    for c in hex.prefix(12) {
        guard let d = hexValue(c) else { return nil }
        ms = ms << 4 | Int64(d)
    }
    return ms
}

private func hexValue(_ c: UInt8) -> UInt8? {
    switch c {
    case UInt8(ascii: "0")...UInt8(ascii: "9"): c - UInt8(ascii: "0")
    case UInt8(ascii: "a")...UInt8(ascii: "f"): c - UInt8(ascii: "a") + 10
    default: nil
    }
}
