import Testing

@testable import AuthCrypto

@Suite("Master keys")
struct MasterKeysTests {
    @Test("the file form reads back; comments, commas and a lone key are understood; bad lines refused")
    func parse() throws {
        var rng = SeededGenerator(seed: 7)
        let keys = MasterKeys.generate(using: &rng).rotated(using: &rng)
        #expect(try MasterKeys.parse(keys.render()) == keys)
        #expect(keys.current.id == 2 && keys.keys.count == 2)
        let hex = String(repeating: "ab", count: 32)
        #expect(try MasterKeys.parse(hex).current.id == 1)
        #expect(try MasterKeys.parse("# note, with a comma\n1:\(hex),3:\(hex)").current.id == 3)
        // ":" and "::" crashed the parser (found by the srp fuzz target).
        for bad in ["", "# only a comment", "1:abc", "x:\(hex)", "1:\(hex)\n1:\(hex)", "0:\(hex)", ":", "::", ":\(hex)"] {
            #expect(throws: AuthCryptoError.self) { try MasterKeys.parse(bad) }
        }
    }

    @Test("after a rotation boxes are sealed with the new key's id and earlier boxes still open")
    func rotation() throws {
        var rng = SeededGenerator(seed: 9)
        let one = MasterKeys.generate(using: &rng)
        let two = one.rotated(using: &rng)
        let old = one.sealer(purpose: "challenges").seal([1, 2, 3], expiresAt: 100, using: &rng)
        let new = two.sealer(purpose: "challenges").seal([4], expiresAt: 100, using: &rng)
        #expect(old[1..<5].reduce(0) { $0 << 8 | UInt32($1) } == 1)
        #expect(new[1..<5].reduce(0) { $0 << 8 | UInt32($1) } == 2)
        #expect(try two.sealer(purpose: "challenges").open(old, now: 10) == [1, 2, 3])
        #expect(throws: AuthCryptoError.self) { try one.sealer(purpose: "challenges").open(new, now: 10) }
        // Purposes are separate keys.
        #expect(throws: AuthCryptoError.self) { try two.sealer(purpose: "refresh tokens").open(new, now: 10) }
        // What must not change with rotation does not.
        #expect(one.secret(purpose: "fake salts") == two.secret(purpose: "fake salts"))
    }
}
