/// Hex as the Cognito SRP clients write it.
public enum SRPHex {
    /// Longest hex accepted for a group element: 3072 bits plus generous leading zeros.
    public static let maxDigits = 1024

    /// Checks that `hex` is 1...maxDigits hex digits and nothing else.
    public static func validate(_ hex: String, maxDigits: Int = maxDigits) throws(AuthCryptoError) {
        let utf8 = hex.utf8
        guard !utf8.isEmpty else { throw AuthCryptoError(.malformedHex, "empty hex value") }
        guard utf8.count <= maxDigits else {
            throw AuthCryptoError(.valueTooLarge, "hex value of \(utf8.count) digits exceeds \(maxDigits)")
        }
        for c in utf8 where nibble(c) == nil {
            throw AuthCryptoError(.malformedHex, "not a hex digit: \(UnicodeScalar(c))")
        }
    }

    /// Lowercase hex of `bytes` with leading zero digits removed ("0" when all zero).
    public static func encode(_ bytes: [UInt8]) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count * 2)
        for b in bytes {
            out.append(digits[Int(b >> 4)])
            out.append(digits[Int(b & 0xf)])
        }
        let firstNonZero = out.firstIndex { $0 != UInt8(ascii: "0") } ?? out.count
        if firstNonZero == out.count { return "0" }
        return String(decoding: out[firstNonZero...], as: UTF8.self)
    }

    /// Bytes of the even-length hex `hex` (plain decoding; nil when malformed).
    public static func decode(_ hex: String) -> [UInt8]? {
        let utf8 = Array(hex.utf8)
        guard utf8.count % 2 == 0 else { return nil }
        var out = [UInt8]()
        out.reserveCapacity(utf8.count / 2)
        var i = 0
        while i < utf8.count {
            guard let hi = nibble(utf8[i]), let lo = nibble(utf8[i + 1]) else { return nil }
            out.append(hi << 4 | lo)
            i += 2
        }
        return out
    }

    /// The clients' `padHex(n)` as bytes: the minimal big-endian bytes of `n`, with one zero
    /// byte in front when the top bit is set (so the value never reads as negative), and
    /// `[0]` for zero. Equal to `bytes.fromhex(pad_hex(n))` in pycognito.
    public static func padded(_ minimal: [UInt8]) -> [UInt8] {
        guard let first = minimal.first else { return [0] }
        return first >= 0x80 ? [0] + minimal : minimal
    }

    /// The clients' `padHex` on a hex string: "0" in front of odd lengths, "00" in front
    /// when the first digit is 8–f.
    public static func padHex(_ hex: String) -> String {
        if hex.utf8.count % 2 == 1 { return "0" + hex }
        if let c = hex.utf8.first, let n = nibble(c), n >= 8 { return "00" + hex }
        return hex
    }

    @inline(__always)
    static func nibble(_ c: UInt8) -> UInt8? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): c - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): c - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): c - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}
