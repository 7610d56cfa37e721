import AuthCrypto
import Testing

@Suite("sealed boxes")
struct SealerTests {
    static let key1 = Sealer.Key(id: 1, bytes: [UInt8](repeating: 1, count: 32))
    static let key2 = Sealer.Key(id: 2, bytes: [UInt8](repeating: 2, count: 32))

    @Test("a sealed box opens to its plaintext before its expiry")
    func roundTrip() throws {
        var rng = SeededGenerator(seed: 1)
        let sealer = Sealer(sealingKey: Self.key1)
        let box = sealer.seal(Array("state".utf8), expiresAt: 1000, using: &rng)
        #expect(try sealer.open(box, now: 1000) == Array("state".utf8))
        #expect(!box.contains(subsequence: Array("state".utf8)))
    }

    @Test("an expired box is refused")
    func expired() {
        var rng = SeededGenerator(seed: 1)
        let sealer = Sealer(sealingKey: Self.key1)
        let box = sealer.seal([1, 2, 3], expiresAt: 1000, using: &rng)
        #expect(throws: AuthCryptoError.self) { try sealer.open(box, now: 1001) }
    }

    @Test("flipping any byte makes the box fail")
    func tampered() {
        var rng = SeededGenerator(seed: 1)
        let sealer = Sealer(sealingKey: Self.key1)
        let box = sealer.seal([1, 2, 3, 4, 5], expiresAt: 1000, using: &rng)
        for i in box.indices {
            var bad = box
            bad[i] ^= 0x01
            #expect(throws: AuthCryptoError.self) { try sealer.open(bad, now: 0) }
        }
        #expect(throws: AuthCryptoError.self) { try sealer.open(Array(box.prefix(20)), now: 0) }
        #expect(throws: AuthCryptoError.self) { try sealer.open([], now: 0) }
    }

    @Test("rotation: a new sealer opens boxes of the old key, the old one refuses the new key")
    func rotation() throws {
        var rng = SeededGenerator(seed: 1)
        let old = Sealer(sealingKey: Self.key1)
        let new = Sealer(sealingKey: Self.key2, older: [Self.key1])
        let oldBox = old.seal([9], expiresAt: 10, using: &rng)
        #expect(try new.open(oldBox, now: 0) == [9])
        let newBox = new.seal([8], expiresAt: 10, using: &rng)
        let error = #expect(throws: AuthCryptoError.self) { try old.open(newBox, now: 0) }
        #expect(error?.code == .unknownKey)
    }
}

extension Array where Element: Equatable {
    func contains(subsequence: [Element]) -> Bool {
        guard subsequence.count <= count else { return false }
        return (0...(count - subsequence.count)).contains { Array(self[$0..<($0 + subsequence.count)]) == subsequence }
    }
}
