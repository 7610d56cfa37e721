import AuthCrypto
import Foundation
import Testing

@Suite("Stored password verifiers as JSON")
struct VerifierCodingTests {
    static func sample() -> PasswordVerifier {
        var rng = SeededGenerator(seed: 0x5EED)
        return SRPWorkspace().makeVerifier(poolName: "pool", userIdForSrp: "alice", password: "Passw0rd!", using: &rng)
    }

    @Test("written as base64 text and read back byte for byte")
    func roundTrip() throws {
        let stored = Self.sample()
        let json = try JSONEncoder().encode(stored)
        let object = try #require(try JSONSerialization.jsonObject(with: json) as? [String: Any])
        #expect(object["salt"] as? String == Base64.encode(stored.salt))
        #expect(object["verifier"] as? String == Base64.encode(stored.verifier))
        #expect(try JSONDecoder().decode(PasswordVerifier.self, from: json) == stored)
    }

    @Test("records written before (arrays of numbers) are still read")
    func legacyArrays() throws {
        let stored = Self.sample()
        let legacy = try JSONSerialization.data(withJSONObject: [
            "salt": stored.salt.map(Int.init), "verifier": stored.verifier.map(Int.init),
        ])
        // Those records had no powers; they sign in by the plain exponentiation.
        #expect(try JSONDecoder().decode(PasswordVerifier.self, from: legacy) == PasswordVerifier(salt: stored.salt, verifier: stored.verifier))
    }

    @Test("text that is not base64 is refused, not read as empty")
    func malformed() {
        let bad = Data(#"{"salt":"AAAA","verifier":"not base64!"}"#.utf8)
        #expect(throws: DecodingError.self) { try JSONDecoder().decode(PasswordVerifier.self, from: bad) }
    }
}
