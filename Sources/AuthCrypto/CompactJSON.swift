import Foundation

/// JSON text with sorted keys and no whitespace, for token claims and API responses:
/// strings, integers, booleans, doubles, NSNumbers, arrays and objects of those. Several
/// times cheaper than JSONSerialization on Linux; a sign-in writes four documents.
public enum CompactJSON {
    /// The encoding, or nil for a value of another type (the caller falls back).
    public static func encode(_ value: Any) -> [UInt8]? {
        var out: [UInt8] = []
        out.reserveCapacity(512)
        return write(value, to: &out) ? out : nil
    }

    static func write(_ value: Any, to out: inout [UInt8]) -> Bool {
        // An NSNumber (from JSONSerialization) would also cast to Bool or Int; its type code
        // says which it is. The metatype test comes first: on Linux `value as? NSNumber`
        // goes through Foundation's bridging for a String, an array or a dictionary (a
        // dictionary is turned into an NSDictionary just to find it is not a number), and
        // that cost more than writing the JSON.
        if type(of: value) is NSNumber.Type, let n = value as? NSNumber {
            if String(cString: n.objCType) == "c" { return write(n.boolValue, to: &out) }
            if n.doubleValue == n.doubleValue.rounded(), abs(n.doubleValue) < 1e15 { return write(n.int64Value, to: &out) }
            return write(n.doubleValue, to: &out)
        }
        switch value {
        case let s as String: string(s, to: &out)
        case let b as Bool: out += Array((b ? "true" : "false").utf8)
        case let i as Int: out += Array(String(i).utf8)
        case let i as Int64: out += Array(String(i).utf8)
        case let i as Int32: out += Array(String(i).utf8)
        case let i as UInt64: out += Array(String(i).utf8)
        case let d as Double:
            guard d.isFinite else { return false }
            out += Array((d == d.rounded() && abs(d) < 1e15 ? String(Int64(d)) : String(d)).utf8)
        case let a as [Any]:
            out.append(UInt8(ascii: "["))
            for (i, v) in a.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                guard write(v, to: &out) else { return false }
            }
            out.append(UInt8(ascii: "]"))
        case let o as [String: Any]:
            out.append(UInt8(ascii: "{"))
            for (i, k) in o.keys.sorted().enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                string(k, to: &out)
                out.append(UInt8(ascii: ":"))
                guard write(o[k]!, to: &out) else { return false }
            }
            out.append(UInt8(ascii: "}"))
        default:
            return false
        }
        return true
    }

    static func string(_ s: String, to out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        // Most strings (tokens, hex, base64, ids) need no escape: copy them whole.
        var s = s
        let plain = s.withUTF8 { utf8 in
            guard !utf8.contains(where: { $0 < 0x20 || $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "\\") }) else { return false }
            out.append(contentsOf: utf8)
            return true
        }
        if plain {
            out.append(UInt8(ascii: "\""))
            return
        }
        for c in s.utf8 {
            switch c {
            case UInt8(ascii: "\""): out += [0x5C, 0x22]
            case UInt8(ascii: "\\"): out += [0x5C, 0x5C]
            case 0x0A: out += [0x5C, UInt8(ascii: "n")]
            case 0x0D: out += [0x5C, UInt8(ascii: "r")]
            case 0x09: out += [0x5C, UInt8(ascii: "t")]
            case 0..<0x20:
                let hex = Array("0123456789abcdef".utf8)
                out += [0x5C, UInt8(ascii: "u"), UInt8(ascii: "0"), UInt8(ascii: "0"), hex[Int(c >> 4)], hex[Int(c & 15)]]
            default: out.append(c)
            }
        }
        out.append(UInt8(ascii: "\""))
    }
}
