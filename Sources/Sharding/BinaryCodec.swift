/// A growable big-endian byte writer for frames and stored records.
public struct BinaryWriter {
    public private(set) var bytes: [UInt8] = []

    public init(capacity: Int = 64) { bytes.reserveCapacity(capacity) }

    public mutating func u8(_ v: UInt8) { bytes.append(v) }
    public mutating func bool(_ v: Bool) { bytes.append(v ? 1 : 0) }
    public mutating func u32(_ v: UInt32) { withUnsafeBytes(of: v.bigEndian) { bytes.append(contentsOf: $0) } }
    public mutating func u64(_ v: UInt64) { withUnsafeBytes(of: v.bigEndian) { bytes.append(contentsOf: $0) } }

    /// Length-prefixed bytes.
    public mutating func blob(_ v: [UInt8]) {
        u32(UInt32(v.count))
        bytes.append(contentsOf: v)
    }

    public mutating func string(_ v: String) { blob(Array(v.utf8)) }
    public mutating func raw(_ v: [UInt8]) { bytes.append(contentsOf: v) }
}

/// Reads what `BinaryWriter` wrote; every read checks bounds and throws on short input,
/// because these bytes come from the network and from disk.
public struct BinaryReader {
    let bytes: [UInt8]
    public private(set) var offset: Int

    public init(_ bytes: [UInt8], offset: Int = 0) {
        self.bytes = bytes
        self.offset = offset
    }

    public var remaining: Int { bytes.count - offset }
    public var isAtEnd: Bool { offset == bytes.count }

    public struct Truncated: Error, CustomStringConvertible {
        public init() {}
        public var description: String { "truncated or malformed record" }
    }

    mutating func take(_ n: Int) throws(Truncated) -> ArraySlice<UInt8> {
        guard n >= 0, remaining >= n else { throw Truncated() }
        defer { offset += n }
        return bytes[offset..<(offset + n)]
    }

    public mutating func u8() throws(Truncated) -> UInt8 { try take(1).first! }
    public mutating func bool() throws(Truncated) -> Bool { try u8() != 0 }
    public mutating func u32() throws(Truncated) -> UInt32 { try take(4).reduce(0) { $0 << 8 | UInt32($1) } }
    public mutating func u64() throws(Truncated) -> UInt64 { try take(8).reduce(0) { $0 << 8 | UInt64($1) } }

    public mutating func blob(max: Int = 64 << 20) throws(Truncated) -> [UInt8] {
        let n = Int(try u32())
        guard n <= max else { throw Truncated() }
        return Array(try take(n))
    }

    public mutating func string() throws(Truncated) -> String {
        String(decoding: try blob(max: 1 << 20), as: UTF8.self)
    }
    public mutating func rest() -> [UInt8] { Array(bytes[offset...]).also { offset = bytes.count } }
}

extension Array {
    fileprivate func also(_ body: () -> Void) -> Array {
        body()
        return self
    }
}
