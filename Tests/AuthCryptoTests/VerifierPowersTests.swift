@testable import AuthCrypto
import Foundation
import Testing

@Suite("v^u from a verifier's stored powers")
struct VerifierPowersTests {
    static func verifier(_ seed: UInt64) -> PasswordVerifier {
        var rng = SeededGenerator(seed: seed)
        return SRPWorkspace().makeVerifier(poolName: "pool", userIdForSrp: "user\(seed)", password: "pw\(seed)", using: &rng)
    }

    @Test("a new verifier carries v^(2^64), v^(2^128), v^(2^192)")
    func stored() {
        let w = SRPWorkspace()
        let v = Self.verifier(1)
        #expect(v.powers.count == 3 * 384)
        // v^(2^64) = g^(x·2^64): check the first against g's table with the exponent shifted.
        let plain = PasswordVerifier(salt: v.salt, verifier: v.verifier)
        let one64 = [UInt8(1)] + [UInt8](repeating: 0, count: 8)  // 2^64
        #expect(Array(v.powers[0..<384]) == w.verifierPower(u: one64, verifier: plain))
        let one128 = [UInt8(1)] + [UInt8](repeating: 0, count: 16)
        #expect(Array(v.powers[384..<768]) == w.verifierPower(u: one128, verifier: plain))
        let one192 = [UInt8(1)] + [UInt8](repeating: 0, count: 24)
        #expect(Array(v.powers[768..<1152]) == w.verifierPower(u: one192, verifier: plain))
    }

    @Test("matches libcrypto's v^u for edge and random u of 1 to 32 bytes")
    func matchesLibcrypto() {
        let w = SRPWorkspace()
        var rng = SeededGenerator(seed: 0x5EC0)
        var exponents: [[UInt8]] = [
            [1], [2], [0xFF], [UInt8](repeating: 0xFF, count: 32), [0x80] + [UInt8](repeating: 0, count: 31),
            [UInt8](repeating: 0, count: 31) + [1], [1] + [UInt8](repeating: 0, count: 8), [0xFF] + [UInt8](repeating: 0, count: 24),
            [UInt8](repeating: 0, count: 16) + [UInt8](repeating: 0xFF, count: 16),
        ]
        for _ in 0..<100 {
            let count = Int.random(in: 1...32, using: &rng)
            exponents.append((0..<count).map { _ in UInt8.random(in: 0...255, using: &rng) })
        }
        for seed: UInt64 in [2, 3] {
            let v = Self.verifier(seed)
            let plain = PasswordVerifier(salt: v.salt, verifier: v.verifier)
            for u in exponents {
                #expect(w.verifierPower(u: u, verifier: v) == w.verifierPower(u: u, verifier: plain), "u \(u)")
            }
        }
    }

    @Test("a sign-in agrees with and without the powers, and a wrong one still fails")
    func signIn() throws {
        var rng = SeededGenerator(seed: 0xAB)
        let server = SRPWorkspace()
        for i in 0..<20 {
            let stored = server.makeVerifier(poolName: "p", userIdForSrp: "u\(i)", password: "right", using: &rng)
            let plain = PasswordVerifier(salt: stored.salt, verifier: stored.verifier)
            let challenge = server.startChallenge(verifier: stored, using: &rng)
            let client = SRPClient(poolName: "p", password: "right", using: &rng)
            let key = try server.passwordKey(clientAHex: client.AHex, challenge: challenge, verifier: stored)
            #expect(key == (try server.passwordKey(clientAHex: client.AHex, challenge: challenge, verifier: plain)))
            #expect(key == (try client.passwordKey(userIdForSrp: "u\(i)", BHex: challenge.BHex, saltHex: stored.saltHex)))
            let wrong = SRPClient(poolName: "p", password: "wrong", using: &rng)
            #expect(try server.passwordKey(clientAHex: wrong.AHex, challenge: challenge, verifier: stored)
                != (try wrong.passwordKey(userIdForSrp: "u\(i)", BHex: challenge.BHex, saltHex: stored.saltHex)))
        }
    }

    @Test("written as base64 under \"powers\"; a verifier without them is written as before")
    func coding() throws {
        let v = Self.verifier(4)
        let json = try JSONEncoder().encode(v)
        let object = try #require(try JSONSerialization.jsonObject(with: json) as? [String: Any])
        #expect(object["powers"] as? String == Base64.encode(v.powers))
        #expect(try JSONDecoder().decode(PasswordVerifier.self, from: json) == v)
        let plain = PasswordVerifier(salt: v.salt, verifier: v.verifier)
        let plainObject = try #require(try JSONSerialization.jsonObject(with: try JSONEncoder().encode(plain)) as? [String: Any])
        #expect(Set(plainObject.keys) == ["salt", "verifier"])
        #expect(try JSONDecoder().decode(PasswordVerifier.self, from: try JSONEncoder().encode(plain)).powers.isEmpty)
    }
}
