import CCrypto

/// Powers of the generator from a precomputed table: g^e mod N for exponents of up to 256
/// bits (the server's b, a password's x) in 64 Montgomery multiplications and no squarings,
/// where a square-and-multiply exponentiation needs about 256 squarings.
///
/// The table holds g^(j·16^i) for every 4-bit window i (64) and digit j (16), in Montgomery
/// form, as little-endian 64-bit words: 64 × 16 × 48 words, 384 KiB. Each window's entry is
/// picked by reading all 16 and keeping one with masks, so the memory touched does not
/// depend on the secret exponent; every window is multiplied in, zero digits too.
///
/// `@unchecked Sendable`: the table is written once, in init, and only read after.
final class FixedBasePowers: @unchecked Sendable {
    static let windowBits = 4
    static let digits = 1 << windowBits
    /// Exponents longer than this many bytes take the generic path.
    static let maxExponentBytes = 32
    static let windows = maxExponentBytes * 8 / windowBits

    let words: Int
    let byteLength: Int
    private let table: UnsafeMutablePointer<UInt64>

    init(generator: UInt, N: BigNum, mont: OpaquePointer) {
        byteLength = N.byteCount
        words = (byteLength + 7) / 8
        table = .allocate(capacity: Self.windows * Self.digits * words)
        guard let ctx = BN_CTX_new(), let base = BN_new(), let entry = BN_new() else {
            fatalError("libcrypto: out of memory")
        }
        defer {
            BN_CTX_free(ctx)
            BN_free(base)
            BN_free(entry)
        }
        // base = g^(16^i) in Montgomery form, for i = 0, 1, …
        check(BN_set_word(base, generator))
        check(BN_to_montgomery(base, base, mont, ctx))
        for i in 0..<Self.windows {
            // Digit 0: 1 in Montgomery form (R mod N).
            check(BN_set_word(entry, 1))
            check(BN_to_montgomery(entry, entry, mont, ctx))
            store(entry, window: i, digit: 0)
            for j in 1..<Self.digits {
                check(BN_mod_mul_montgomery(entry, entry, base, mont, ctx))
                store(entry, window: i, digit: j)
            }
            for _ in 0..<Self.windowBits { check(BN_mod_mul_montgomery(base, base, base, mont, ctx)) }
        }
    }

    deinit { table.deallocate() }

    private func store(_ bn: OpaquePointer, window: Int, digit: Int) {
        let slot = table + (window * Self.digits + digit) * words
        let written = slot.withMemoryRebound(to: UInt8.self, capacity: words * 8) {
            BN_bn2lebinpad(bn, $0, Int32(words * 8))
        }
        check(written == Int32(words * 8) ? 1 : 0)
    }

    private func check(_ rc: Int32) {
        if rc != 1 { fatalError("libcrypto failed while building the table of powers of g") }
    }

    /// g^e mod N into `result`, for big-endian `e` of at most `maxExponentBytes` bytes.
    /// `scratch` must hold `words` words; `entry` is a scratch BIGNUM.
    func power(
        _ e: [UInt8], into result: OpaquePointer, entry: OpaquePointer, scratch: UnsafeMutablePointer<UInt64>,
        mont: OpaquePointer, ctx: OpaquePointer
    ) -> Bool {
        precondition(e.count <= Self.maxExponentBytes)
        let pad = Self.maxExponentBytes - e.count
        for i in 0..<Self.windows {
            // Window i holds bits 4i…4i+3: the low or high half of byte 31 − i/2.
            let index = Self.maxExponentBytes - 1 - i / 2 - pad
            let byte = index >= 0 ? e[index] : 0
            let digit = UInt64(i % 2 == 0 ? byte & 0x0F : byte >> 4)
            select(window: i, digit: digit, into: scratch)
            let target = i == 0 ? result : entry
            let loaded = scratch.withMemoryRebound(to: UInt8.self, capacity: words * 8) {
                BN_lebin2bn($0, Int32(words * 8), target)
            }
            guard loaded != nil else { return false }
            if i > 0, BN_mod_mul_montgomery(result, result, entry, mont, ctx) != 1 { return false }
        }
        return BN_from_montgomery(result, result, mont, ctx) == 1
    }

    /// scratch = table[window][digit], reading every digit's entry.
    private func select(window: Int, digit: UInt64, into scratch: UnsafeMutablePointer<UInt64>) {
        let base = table + window * Self.digits * words
        for w in 0..<words { scratch[w] = 0 }
        for j in 0..<Self.digits {
            // All ones when j == digit, else zero, without a branch on the digit.
            let differs = UInt64(j) ^ digit
            let mask = 0 &- ((differs &- 1) >> 63)
            let row = base + j * words
            for w in 0..<words { scratch[w] |= row[w] & mask }
        }
    }
}
