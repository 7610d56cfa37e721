import AuthCrypto
import Testing

@Suite("Powers of g from the precomputed table")
struct FixedBasePowersTests {
    @Test("match libcrypto's exponentiation for edge and random exponents of 0 to 32 bytes")
    func matchesLibcrypto() {
        let w = SRPWorkspace()
        var rng = SeededGenerator(seed: 0xF1BA5E)
        var exponents: [[UInt8]] = [[], [0], [1], [2], [0x10], [0xFF], [UInt8](repeating: 0, count: 32),
                                    [UInt8](repeating: 0xFF, count: 32), [0x80] + [UInt8](repeating: 0, count: 31)]
        for _ in 0..<300 {
            let count = Int.random(in: 0...32, using: &rng)
            exponents.append((0..<count).map { _ in UInt8.random(in: 0...255, using: &rng) })
        }
        for e in exponents {
            #expect(w.powerOfGenerator(e) == w.powerOfGenerator(e, usingTable: false), "exponent \(e)")
        }
        // g^0 = 1 and g^1 = 2, padded to the group's length.
        #expect(w.powerOfGenerator([]) == [UInt8](repeating: 0, count: 383) + [1])
        #expect(w.powerOfGenerator([1]) == [UInt8](repeating: 0, count: 383) + [2])
    }

    @Test("longer exponents take libcrypto's path and still agree with the short form")
    func longExponent() {
        let w = SRPWorkspace()
        let e: [UInt8] = [0, 0, 0] + [UInt8](repeating: 0xA5, count: 32)  // 35 bytes, value < 2^256
        #expect(w.powerOfGenerator(e) == w.powerOfGenerator(Array(e.dropFirst(3))))
    }
}
