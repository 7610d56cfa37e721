/// Standard base64 (RFC 4648 §4, with padding), as Cognito and its clients use it.
public enum Base64 {
    private static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)
    private static let reverse: [UInt8] = {
        var table = [UInt8](repeating: 0xff, count: 256)
        for (i, c) in alphabet.enumerated() { table[Int(c)] = UInt8(i) }
        return table
    }()

    public static func encode(_ bytes: [UInt8]) -> String {
        let length = (bytes.count + 2) / 3 * 4
        // Written in place: appending a four-element array literal per group allocated it.
        let out = [UInt8](unsafeUninitializedCapacity: length) { out, count in
            alphabet.withUnsafeBufferPointer { a in
                var i = 0, o = 0
                while i + 3 <= bytes.count {
                    let n = UInt32(bytes[i]) << 16 | UInt32(bytes[i + 1]) << 8 | UInt32(bytes[i + 2])
                    out[o] = a[Int(n >> 18 & 63)]
                    out[o + 1] = a[Int(n >> 12 & 63)]
                    out[o + 2] = a[Int(n >> 6 & 63)]
                    out[o + 3] = a[Int(n & 63)]
                    i += 3
                    o += 4
                }
                let rest = bytes.count - i
                if rest > 0 {
                    let n = UInt32(bytes[i]) << 16 | (rest == 2 ? UInt32(bytes[i + 1]) << 8 : 0)
                    out[o] = a[Int(n >> 18 & 63)]
                    out[o + 1] = a[Int(n >> 12 & 63)]
                    out[o + 2] = rest == 2 ? a[Int(n >> 6 & 63)] : UInt8(ascii: "=")
                    out[o + 3] = UInt8(ascii: "=")
                }
            }
            count = length
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Decodes padded base64; nil for anything malformed.
    public static func decode(_ text: String) -> [UInt8]? {
        var text = text
        return text.withUTF8 { chars -> [UInt8]? in
            guard chars.count % 4 == 0 else { return nil }
            var out = [UInt8]()
            out.reserveCapacity(chars.count / 4 * 3)
            return reverse.withUnsafeBufferPointer { reverse -> [UInt8]? in
                var i = 0
                while i < chars.count {
                    var n: UInt32 = 0
                    var pad = 0
                    for j in 0..<4 {
                        let c = chars[i + j]
                        if c == UInt8(ascii: "=") {
                            // Padding only at the very end, at most two.
                            guard i + 4 == chars.count, j >= 2 else { return nil }
                            pad += 1
                            n <<= 6
                            continue
                        }
                        guard pad == 0 else { return nil }
                        let v = reverse[Int(c)]
                        guard v != 0xff else { return nil }
                        n = n << 6 | UInt32(v)
                    }
                    out.append(UInt8(n >> 16 & 0xff))
                    if pad < 2 { out.append(UInt8(n >> 8 & 0xff)) }
                    if pad < 1 { out.append(UInt8(n & 0xff)) }
                    i += 4
                }
                return out
            }
        }
    }
}
