/// The part of CBOR (RFC 8949) that WebAuthn's attestation objects and COSE keys use:
/// integers, byte and text strings, arrays, maps, simple values — definite lengths only.
/// What arrives here comes from a client, so every length is checked against the bytes
/// left before anything is read or allocated, nesting and item counts are bounded, and
/// anything else (tags, floats, indefinite lengths, invalid UTF-8) is refused.
public indirect enum CBOR: Sendable, Equatable {
    case unsigned(UInt64)
    /// A negative integer: -1 - n.
    case negative(UInt64)
    case bytes([UInt8])
    case text(String)
    case array([CBOR])
    case map([(CBOR, CBOR)])
    case bool(Bool)
    case null

    public static func == (a: CBOR, b: CBOR) -> Bool {
        switch (a, b) {
        case (.unsigned(let x), .unsigned(let y)), (.negative(let x), .negative(let y)): return x == y
        case (.bytes(let x), .bytes(let y)): return x == y
        case (.text(let x), .text(let y)): return x == y
        case (.array(let x), .array(let y)): return x == y
        case (.map(let x), .map(let y)):
            return x.count == y.count && zip(x, y).allSatisfy { $0.0 == $1.0 && $0.1 == $1.1 }
        case (.bool(let x), .bool(let y)): return x == y
        case (.null, .null): return true
        default: return false
        }
    }

    /// Why bytes are not the CBOR accepted here.
    public struct Malformed: Error, Equatable, Sendable {
        public let reason: String
    }

    /// Nesting deeper than this is refused (a COSE key is two deep, an attestation three).
    public static let maxDepth = 8
    /// Items in all arrays and maps of one value, at most.
    public static let maxItems = 512

    /// Decodes the one value `bytes` hold (trailing bytes refused).
    public static func decode(_ bytes: [UInt8]) throws(Malformed) -> CBOR {
        var reader = Reader(bytes: bytes)
        let value = try reader.value(depth: 0)
        guard reader.offset == bytes.count else { throw Malformed(reason: "trailing bytes") }
        return value
    }

    /// Decodes the value at the start of `bytes` and says how many bytes it took (an
    /// authenticator's data has its COSE key followed by extensions).
    public static func decodePrefix(_ bytes: ArraySlice<UInt8>) throws(Malformed) -> (CBOR, Int) {
        var reader = Reader(bytes: Array(bytes))
        let value = try reader.value(depth: 0)
        return (value, reader.offset)
    }

    struct Reader {
        let bytes: [UInt8]
        var offset = 0
        var items = 0

        mutating func byte() throws(Malformed) -> UInt8 {
            guard offset < bytes.count else { throw Malformed(reason: "truncated") }
            defer { offset += 1 }
            return bytes[offset]
        }

        /// The argument of a head whose low five bits are `info`.
        mutating func argument(_ info: UInt8) throws(Malformed) -> UInt64 {
            switch info {
            case 0..<24: return UInt64(info)
            case 24, 25, 26, 27:
                let count = 1 << Int(info - 24)
                guard bytes.count - offset >= count else { throw Malformed(reason: "truncated") }
                var v: UInt64 = 0
                for _ in 0..<count { v = v << 8 | UInt64(bytes[offset]); offset += 1 }
                return v
            default: throw Malformed(reason: "indefinite or reserved length")
            }
        }

        mutating func take(_ length: UInt64) throws(Malformed) -> [UInt8] {
            guard length <= UInt64(bytes.count - offset) else { throw Malformed(reason: "length past the end") }
            let n = Int(length)
            defer { offset += n }
            return Array(bytes[offset..<(offset + n)])
        }

        mutating func count(_ n: UInt64, perItem: Int) throws(Malformed) -> Int {
            // Every item takes at least one byte: a count larger than what is left is a lie.
            guard n <= UInt64(bytes.count - offset) / UInt64(perItem), items + Int(n) <= CBOR.maxItems else {
                throw Malformed(reason: "too many items")
            }
            items += Int(n)
            return Int(n)
        }

        mutating func value(depth: Int) throws(Malformed) -> CBOR {
            guard depth <= CBOR.maxDepth else { throw Malformed(reason: "nested too deep") }
            let head = try byte()
            let major = head >> 5
            let info = head & 0x1f
            switch major {
            case 0: return .unsigned(try argument(info))
            case 1: return .negative(try argument(info))
            case 2: return .bytes(try take(try argument(info)))
            case 3:
                let raw = try take(try argument(info))
                guard let text = String(validating: raw, as: UTF8.self) else {
                    throw Malformed(reason: "invalid UTF-8")
                }
                return .text(text)
            case 4:
                let n = try count(try argument(info), perItem: 1)
                var out: [CBOR] = []
                out.reserveCapacity(n)
                for _ in 0..<n { out.append(try value(depth: depth + 1)) }
                return .array(out)
            case 5:
                let n = try count(try argument(info), perItem: 2)
                var out: [(CBOR, CBOR)] = []
                out.reserveCapacity(n)
                for _ in 0..<n {
                    let key = try value(depth: depth + 1)
                    guard !out.contains(where: { $0.0 == key }) else { throw Malformed(reason: "duplicate map key") }
                    out.append((key, try value(depth: depth + 1)))
                }
                return .map(out)
            case 7:
                switch info {
                case 20: return .bool(false)
                case 21: return .bool(true)
                case 22: return .null
                default: throw Malformed(reason: "unsupported simple value or float")
                }
            default: throw Malformed(reason: "tags are not accepted")
            }
        }
    }

    /// The value under an integer key (COSE's labels) or a text key, in a map.
    public subscript(_ key: Int) -> CBOR? {
        guard case .map(let entries) = self else { return nil }
        let wanted: CBOR = key >= 0 ? .unsigned(UInt64(key)) : .negative(UInt64(-1 - key))
        return entries.first { $0.0 == wanted }?.1
    }

    public subscript(_ key: String) -> CBOR? {
        guard case .map(let entries) = self else { return nil }
        return entries.first { $0.0 == .text(key) }?.1
    }

    public var int: Int64? {
        switch self {
        case .unsigned(let n): n <= UInt64(Int64.max) ? Int64(n) : nil
        case .negative(let n): n < UInt64(Int64.max) ? -1 - Int64(n) : nil
        default: nil
        }
    }

    public var byteString: [UInt8]? {
        if case .bytes(let b) = self { return b }
        return nil
    }

    public var string: String? {
        if case .text(let t) = self { return t }
        return nil
    }

    /// Encodes (for tests and for the bench's authenticator): definite lengths, shortest heads.
    public var encoded: [UInt8] {
        var out: [UInt8] = []
        encode(into: &out)
        return out
    }

    func encode(into out: inout [UInt8]) {
        func head(_ major: UInt8, _ n: UInt64) {
            switch n {
            case 0..<24: out.append(major << 5 | UInt8(n))
            case 24..<256: out += [major << 5 | 24, UInt8(n)]
            case 256..<65_536: out += [major << 5 | 25, UInt8(n >> 8), UInt8(n & 0xff)]
            case 65_536..<4_294_967_296:
                out.append(major << 5 | 26); for s in [24, 16, 8, 0] { out.append(UInt8(n >> UInt64(s) & 0xff)) }
            default:
                out.append(major << 5 | 27);
                for s in stride(from: 56, through: 0, by: -8) { out.append(UInt8(n >> UInt64(s) & 0xff)) }
            }
        }
        switch self {
        case .unsigned(let n): head(0, n)
        case .negative(let n): head(1, n)
        case .bytes(let b): head(2, UInt64(b.count)); out += b
        case .text(let t): head(3, UInt64(t.utf8.count)); out += Array(t.utf8)
        case .array(let a): head(4, UInt64(a.count)); for v in a { v.encode(into: &out) }
        case .map(let m): head(5, UInt64(m.count)); for (k, v) in m { k.encode(into: &out); v.encode(into: &out) }
        case .bool(let b): out.append(b ? 0xf5 : 0xf4)
        case .null: out.append(0xf6)
        }
    }
}
