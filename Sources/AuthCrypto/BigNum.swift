import CCrypto

/// An owned libcrypto BIGNUM.
///
/// `@unchecked Sendable`: every mutation happens through `withMutablePointer` by the single
/// owner; values shared across threads (the group constants) are never mutated after init.
public final class BigNum: @unchecked Sendable {
    let bn: OpaquePointer

    public init() {
        guard let bn = BN_new() else { fatalError("BN_new: out of memory") }
        self.bn = bn
    }

    /// Big-endian unsigned bytes; leading zeros are allowed.
    public convenience init(bytes: [UInt8]) {
        self.init()
        bytes.withUnsafeBufferPointer { _ = BN_bin2bn($0.baseAddress, Int32($0.count), bn) }
    }

    /// Parses hex after checking it with `SRPHex.validate`, so garbage never reaches libcrypto.
    public convenience init(hex: String, maxDigits: Int = SRPHex.maxDigits) throws(AuthCryptoError) {
        try SRPHex.validate(hex, maxDigits: maxDigits)
        self.init()
        var p: OpaquePointer? = bn
        let parsed = hex.withCString { BN_hex2bn(&p, $0) }
        guard parsed == Int32(hex.utf8.count) else {
            throw AuthCryptoError(.malformedHex, "libcrypto parsed \(parsed) of \(hex.utf8.count) hex digits")
        }
    }

    deinit { BN_free(bn) }

    public var isZero: Bool { BN_is_zero(bn) == 1 }
    public var bitCount: Int { Int(BN_num_bits(bn)) }
    public var byteCount: Int { (bitCount + 7) / 8 }

    /// Minimal big-endian bytes (empty for zero).
    public var bytes: [UInt8] { BigNum.bytes(of: bn) }

    /// Big-endian bytes left-padded with zeros to exactly `length`.
    public func bytes(paddedTo length: Int) -> [UInt8] { BigNum.bytes(of: bn, paddedTo: length) }

    /// Lowercase hex without leading zeros ("0" for zero), as `BigInteger.toString(16)` prints.
    public var hex: String { SRPHex.encode(bytes) }

    static func bytes(of bn: OpaquePointer) -> [UInt8] {
        let n = (Int(BN_num_bits(bn)) + 7) / 8
        return [UInt8](unsafeUninitializedCapacity: n) { buf, count in
            count = Int(BN_bn2bin(bn, buf.baseAddress))
        }
    }

    static func bytes(of bn: OpaquePointer, paddedTo length: Int) -> [UInt8] {
        [UInt8](unsafeUninitializedCapacity: length) { buf, count in
            let written = BN_bn2binpad(bn, buf.baseAddress, Int32(length))
            precondition(written == Int32(length), "BN_bn2binpad: value wider than \(length) bytes")
            count = length
        }
    }
}

extension BigNum: Equatable {
    public static func == (a: BigNum, b: BigNum) -> Bool { BN_cmp(a.bn, b.bn) == 0 }
}
