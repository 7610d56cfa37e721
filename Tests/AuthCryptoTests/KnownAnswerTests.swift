import AuthCrypto
import Foundation
import Testing

/// Cases written by pycognito's own client code (Tests/python/make_srp_vectors.py).
struct SRPVectors: Decodable {
    struct Case: Decodable, CustomTestStringConvertible {
        var poolId, userIdForSrp, password, salt, x, verifier, a, b, A, B, u, S, hkdfKey: String
        var secretBlock, timestamp, signature: String
        var timestampEpoch: Int64
        var testDescription: String { "\(poolId)/\(userIdForSrp)" }
    }
    struct SecretHashCase: Decodable {
        var username, clientId, clientSecret, secretHash: String
    }
    var k: String
    var cases: [Case]
    var secretHashes: [SecretHashCase]

    static let loaded: SRPVectors = {
        let url = Bundle.module.url(forResource: "srp_vectors", withExtension: "json", subdirectory: "Vectors")!
        return try! JSONDecoder().decode(SRPVectors.self, from: Data(contentsOf: url))
    }()
}

@Suite("SRP against pycognito's known answers")
struct KnownAnswerTests {
    @Test("the vectors file holds cases")
    func vectorsPresent() {
        #expect(SRPVectors.loaded.cases.count >= 8)
        #expect(SRPVectors.loaded.secretHashes.count >= 3)
    }

    @Test("k is SHA-256 of padHex(N) and padHex(g) as the clients build it")
    func multiplier() {
        #expect(SRPGroup.cognito.k.hex == SRPVectors.loaded.k)
    }

    @Test("x, v, B, u, S, the HKDF key and the claim signature match pycognito", arguments: SRPVectors.loaded.cases)
    func serverMatchesClient(_ c: SRPVectors.Case) throws {
        let workspace = SRPWorkspace()
        let poolName = SRPHash.poolName(fromPoolId: c.poolId)
        let salt = numberBytes(c.salt)
        #expect(PasswordVerifier(salt: salt, verifier: []).saltHex == c.salt)

        let x = SRPWorkspace.x(salt: salt, poolName: poolName, userIdForSrp: c.userIdForSrp, password: c.password)
        #expect(hexOf(x) == c.x)

        let stored = workspace.verifier(salt: salt, poolName: poolName, userIdForSrp: c.userIdForSrp, password: c.password)
        #expect(hexOf(stored.verifier) == c.verifier)
        #expect(stored.verifier.count == 384)

        let challenge = try #require(workspace.challenge(b: SRPHex.decode(c.b)!, verifier: stored))
        #expect(challenge.BHex == c.B)

        let (u, s) = try workspace.sharedSecret(clientAHex: c.A, challenge: challenge, verifier: stored)
        #expect(hexOf(u) == c.u)
        #expect(hexOf(s) == c.S)

        let key = try workspace.passwordKey(clientAHex: c.A, challenge: challenge, verifier: stored)
        #expect(key.count == 16)
        #expect(key == SRPHex.decode(c.hkdfKey)!)

        let block = try #require(Base64.decode(c.secretBlock))
        let signature = SRPWorkspace.claimSignature(
            key: key, poolName: poolName, userIdForSrp: c.userIdForSrp, secretBlock: block, timestamp: c.timestamp)
        #expect(Base64.encode(signature) == c.signature)
        #expect(SRPWorkspace.verifyClaim(
            signatureBase64: c.signature, key: key, poolName: poolName, userIdForSrp: c.userIdForSrp,
            secretBlock: block, timestamp: c.timestamp))

        #expect(try CognitoTimestamp.parse(c.timestamp) == c.timestampEpoch)
        #expect(CognitoTimestamp.format(c.timestampEpoch) == c.timestamp)
    }

    @Test("the password check accepts the vector's password and refuses a changed one", arguments: SRPVectors.loaded.cases)
    func passwordVerification(_ c: SRPVectors.Case) {
        let workspace = SRPWorkspace()
        let poolName = SRPHash.poolName(fromPoolId: c.poolId)
        let stored = PasswordVerifier(salt: numberBytes(c.salt), verifier: SRPHex.decode(SRPHex.padHex(c.verifier)).map {
            [UInt8](repeating: 0, count: 384 - $0.drop { $0 == 0 }.count) + $0.drop { $0 == 0 }
        }!)
        #expect(workspace.verify(password: c.password, poolName: poolName, userIdForSrp: c.userIdForSrp, against: stored))
        #expect(!workspace.verify(password: c.password + "x", poolName: poolName, userIdForSrp: c.userIdForSrp, against: stored))
        #expect(!workspace.verify(password: c.password, poolName: poolName, userIdForSrp: c.userIdForSrp + "x", against: stored))
    }

    @Test("SECRET_HASH matches pycognito")
    func secretHash() {
        for c in SRPVectors.loaded.secretHashes {
            #expect(SecretHash.compute(clientSecret: c.clientSecret, username: c.username, clientId: c.clientId) == c.secretHash)
            #expect(SecretHash.verify(c.secretHash, clientSecret: c.clientSecret, username: c.username, clientId: c.clientId))
            #expect(!SecretHash.verify(c.secretHash, clientSecret: c.clientSecret + "!", username: c.username, clientId: c.clientId))
        }
    }
}
