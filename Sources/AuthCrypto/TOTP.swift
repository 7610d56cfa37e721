import Crypto

/// Time-based one-time passwords as authenticator apps compute them (RFC 6238 over RFC
/// 4226's HOTP): HMAC-SHA1 of the 30-second step since the epoch, dynamically truncated to
/// six digits. A code is taken from the step before, the step of, or the step after `now`,
/// and only for a step later than the last one used, so each code works once.
public enum TOTP {
    public static let stepSeconds: Int64 = 30
    public static let digits = 6
    /// Bytes of a secret Cognate draws (160 bits, RFC 4226's recommendation).
    public static let secretBytes = 20

    /// The code for time step `step`.
    public static func code(secret: [UInt8], step: Int64) -> String {
        var counter = UInt64(bitPattern: step).bigEndian
        let mac = withUnsafeBytes(of: &counter) {
            Array(HMAC<Insecure.SHA1>.authenticationCode(for: Array($0), using: SymmetricKey(data: secret)))
        }
        let offset = Int(mac[mac.count - 1] & 0x0f)
        let value =
            (UInt32(mac[offset] & 0x7f) << 24) | (UInt32(mac[offset + 1]) << 16) | (UInt32(mac[offset + 2]) << 8)
            | UInt32(mac[offset + 3])
        let text = String(value % 1_000_000)
        return String(repeating: "0", count: digits - text.count) + text
    }

    /// The step `given` is the code of, within a step of `now` (Unix seconds) and after
    /// `lastStep`; nil if none. Every candidate is compared, in constant time.
    public static func matchingStep(_ given: String, secret: [UInt8], now: Int64, after lastStep: Int64?) -> Int64? {
        guard given.utf8.count == digits, given.utf8.allSatisfy({ $0 >= 48 && $0 <= 57 }) else { return nil }
        let current = now / stepSeconds
        var found: Int64?
        for step in (current - 1)...(current + 1) {
            let match = constantTimeEqual(Array(code(secret: secret, step: step).utf8), Array(given.utf8))
            if match, step > (lastStep ?? Int64.min), found == nil { found = step }
        }
        return found
    }
}

/// RFC 4648 base32 without padding: how a TOTP secret is shown to the user (Cognito's
/// SecretCode, the `secret` of an otpauth:// URI).
public enum Base32 {
    static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567".utf8)

    public static func encode(_ bytes: [UInt8]) -> String {
        var out: [UInt8] = []
        var buffer: UInt32 = 0
        var bits = 0
        for byte in bytes {
            buffer = (buffer << 8) | UInt32(byte)
            bits += 8
            while bits >= 5 {
                out.append(alphabet[Int((buffer >> UInt32(bits - 5)) & 31)])
                bits -= 5
            }
        }
        if bits > 0 { out.append(alphabet[Int((buffer << UInt32(5 - bits)) & 31)]) }
        return String(decoding: out, as: UTF8.self)
    }

    /// Bytes from base32 text (upper or lower case, padding ignored); nil for anything else.
    public static func decode(_ text: String) -> [UInt8]? {
        var out: [UInt8] = []
        var buffer: UInt32 = 0
        var bits = 0
        for c in text.uppercased().utf8 where c != UInt8(ascii: "=") {
            guard let value = alphabet.firstIndex(of: c) else { return nil }
            buffer = (buffer << 5) | UInt32(value)
            bits += 5
            if bits >= 8 {
                out.append(UInt8((buffer >> UInt32(bits - 8)) & 0xff))
                bits -= 8
            }
        }
        return out
    }
}
