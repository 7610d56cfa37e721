/// Jump consistent hash (Lamping & Veach): a key's bucket among `buckets`, moving as few
/// keys as possible when the count changes.
public func jumpHash(_ key: UInt64, buckets: Int32) -> Int32 {
    var k = key
    var b: Int64 = -1
    var j: Int64 = 0
    while j < Int64(buckets) {
        b = j
        k = k &* 2_862_933_555_777_941_757 &+ 1
        j = Int64(Double(b + 1) * (Double(Int64(1) << 31) / Double((k >> 33) + 1)))
    }
    return Int32(b)
}

/// 64-bit FNV-1a, with lengths mixed in so (ab, c) and (a, bc) differ.
public struct FNV1a {
    public private(set) var value: UInt64 = 0xcbf2_9ce4_8422_2325

    public init() {}

    public mutating func add(_ bytes: UnsafeRawBufferPointer) {
        mix(UInt64(bytes.count))
        for b in bytes {
            value ^= UInt64(b)
            value &*= 0x100_0000_01b3
        }
    }

    public mutating func add(_ bytes: [UInt8]) { bytes.withUnsafeBytes { add($0) } }

    private mutating func mix(_ n: UInt64) {
        for i in 0..<8 {
            value ^= (n >> (8 * UInt64(i))) & 0xff
            value &*= 0x100_0000_01b3
        }
    }
}
