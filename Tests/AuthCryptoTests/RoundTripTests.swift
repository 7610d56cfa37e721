import AuthCrypto
import Testing

@Suite("SRP round trips between our client and server")
struct RoundTripTests {
    static let alphabet = Array("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!@#$%^&*() _-+=ü✓")

    static func randomString(_ rng: inout SeededGenerator, _ range: ClosedRange<Int>) -> String {
        String((0..<Int.random(in: range, using: &rng)).map { _ in alphabet.randomElement(using: &rng)! })
    }

    @Test("200 random users: the right password signs in, a wrong one never does")
    func randomUsers() throws {
        var rng = SeededGenerator(seed: 0xC0DE)
        let server = SRPWorkspace()
        for _ in 0..<200 {
            let poolName = Self.randomString(&rng, 1...12)
            let user = Self.randomString(&rng, 1...40)
            let password = Self.randomString(&rng, 0...64)
            var wrong = Self.randomString(&rng, 0...64)
            if wrong == password { wrong += "?" }
            let stored = server.makeVerifier(poolName: poolName, userIdForSrp: user, password: password, using: &rng)
            let block = (0..<48).map { _ in UInt8.random(in: 0...255, using: &rng) }
            let timestamp = CognitoTimestamp.format(Int64.random(in: 0...4_000_000_000, using: &rng))

            for (attempt, shouldPass) in [(password, true), (wrong, false)] {
                let client = SRPClient(poolName: poolName, password: attempt, using: &rng)
                let challenge = server.startChallenge(verifier: stored, using: &rng)
                let signature = try client.signature(
                    userIdForSrp: user, BHex: challenge.BHex, saltHex: stored.saltHex, secretBlock: block, timestamp: timestamp)
                let key = try server.passwordKey(clientAHex: client.AHex, challenge: challenge, verifier: stored)
                let ok = SRPWorkspace.verifyClaim(
                    signatureBase64: signature, key: key, poolName: poolName, userIdForSrp: user,
                    secretBlock: block, timestamp: timestamp)
                #expect(ok == shouldPass, "user \(user) password \(attempt)")
                #expect(server.verify(password: attempt, poolName: poolName, userIdForSrp: user, against: stored) == shouldPass)
            }
        }
    }

    @Test("a signature over a different secret block or timestamp is refused")
    func signatureBindsEverything() throws {
        var rng = SeededGenerator(seed: 7)
        let server = SRPWorkspace()
        let stored = server.makeVerifier(poolName: "p", userIdForSrp: "u", password: "pw", using: &rng)
        let client = SRPClient(poolName: "p", password: "pw", using: &rng)
        let challenge = server.startChallenge(verifier: stored, using: &rng)
        let ts = CognitoTimestamp.format(1_800_000_000)
        let sig = try client.signature(userIdForSrp: "u", BHex: challenge.BHex, saltHex: stored.saltHex, secretBlock: [1, 2, 3], timestamp: ts)
        let key = try server.passwordKey(clientAHex: client.AHex, challenge: challenge, verifier: stored)
        #expect(SRPWorkspace.verifyClaim(signatureBase64: sig, key: key, poolName: "p", userIdForSrp: "u", secretBlock: [1, 2, 3], timestamp: ts))
        #expect(!SRPWorkspace.verifyClaim(signatureBase64: sig, key: key, poolName: "p", userIdForSrp: "u", secretBlock: [1, 2, 4], timestamp: ts))
        #expect(!SRPWorkspace.verifyClaim(signatureBase64: sig, key: key, poolName: "p", userIdForSrp: "u", secretBlock: [1, 2, 3], timestamp: CognitoTimestamp.format(1_800_000_001)))
        #expect(!SRPWorkspace.verifyClaim(signatureBase64: sig, key: key, poolName: "q", userIdForSrp: "u", secretBlock: [1, 2, 3], timestamp: ts))
        #expect(!SRPWorkspace.verifyClaim(signatureBase64: "not base64!", key: key, poolName: "p", userIdForSrp: "u", secretBlock: [1, 2, 3], timestamp: ts))
        // A challenge answered against another B (replayed signature) is refused.
        let other = server.startChallenge(verifier: stored, using: &rng)
        let key2 = try server.passwordKey(clientAHex: client.AHex, challenge: other, verifier: stored)
        #expect(!SRPWorkspace.verifyClaim(signatureBase64: sig, key: key2, poolName: "p", userIdForSrp: "u", secretBlock: [1, 2, 3], timestamp: ts))
    }
}
