import AuthCrypto
import Testing

@Suite("hostile input is refused with a typed error")
struct SafetyTests {
    static func setUp() -> (SRPWorkspace, PasswordVerifier, SRPServerChallenge) {
        var rng = SeededGenerator(seed: 99)
        let server = SRPWorkspace()
        let stored = server.makeVerifier(poolName: "p", userIdForSrp: "u", password: "pw", using: &rng)
        return (server, stored, server.startChallenge(verifier: stored, using: &rng))
    }

    static let n = SRPGroup.primeHex

    @Test("A ≡ 0 mod N is refused", arguments: ["0", "000", n, n.lowercased(), "0" + n])
    func zeroA(_ a: String) {
        let (server, stored, challenge) = Self.setUp()
        #expect(throws: AuthCryptoError(.illegalA, "SRP_A is 0 mod N")) {
            try server.passwordKey(clientAHex: a, challenge: challenge, verifier: stored)
        }
    }

    @Test("2N is also 0 mod N")
    func twoN() throws {
        let (server, stored, challenge) = Self.setUp()
        let doubled = SRPHex.encode(doubledBytes(SRPHex.decode(Self.n)!))
        let error = #expect(throws: AuthCryptoError.self) {
            try server.passwordKey(clientAHex: doubled, challenge: challenge, verifier: stored)
        }
        #expect(error?.code == .illegalA)
    }

    @Test("malformed A is refused", arguments: ["", "xyz", "12 34", "-1", "0x1234", "１２"])
    func malformedA(_ a: String) {
        let (server, stored, challenge) = Self.setUp()
        let error = #expect(throws: AuthCryptoError.self) {
            try server.passwordKey(clientAHex: a, challenge: challenge, verifier: stored)
        }
        #expect(error?.code == .malformedHex)
    }

    @Test("oversize A is refused")
    func oversizeA() {
        let (server, stored, challenge) = Self.setUp()
        let error = #expect(throws: AuthCryptoError.self) {
            try server.passwordKey(clientAHex: String(repeating: "f", count: 5000), challenge: challenge, verifier: stored)
        }
        #expect(error?.code == .valueTooLarge)
    }

    @Test(
        "malformed timestamps are refused",
        arguments: [
            "", "Tue Nov 03 09:05:07 UTC 2026", "Tue Nov 3 9:05:07 UTC 2026", "Tue Nov 3 09:05:07 GMT 2026",
            "Mon Nov 3 09:05:07 UTC 2026", "Tue Nov 31 09:05:07 UTC 2026", "Tue Nov 3 24:05:07 UTC 2026",
            "Tue Nov 3 09:05:07 UTC 26", "Tue  Nov 3 09:05:07 UTC 2026", "Xyz Nov 3 09:05:07 UTC 2026",
            "Tue Nov 0 09:05:07 UTC 2026", "Tue Nov 3 09:05 UTC 2026", "Sun Feb 29 00:00:00 UTC 2026",
        ])
    func badTimestamp(_ text: String) {
        let error = #expect(throws: AuthCryptoError.self) { try CognitoTimestamp.parse(text) }
        #expect(error?.code == .malformedTimestamp)
    }

    @Test("a well-formed timestamp parses, with a one-digit day")
    func goodTimestamp() throws {
        #expect(try CognitoTimestamp.parse("Tue Nov 3 09:05:07 UTC 2026") == 1_793_696_707)
        #expect(CognitoTimestamp.format(1_793_696_707) == "Tue Nov 3 09:05:07 UTC 2026")
        #expect(try CognitoTimestamp.parse("Thu Jan 1 00:00:00 UTC 1970") == 0)
    }

    @Test("padHex follows the clients' quirk")
    func padHex() {
        #expect(SRPHex.padHex("abc") == "0abc")
        #expect(SRPHex.padHex("8abc") == "008abc")
        #expect(SRPHex.padHex("7abc") == "7abc")
        #expect(SRPHex.padded([0x80]) == [0, 0x80])
        #expect(SRPHex.padded([]) == [0])
        #expect(SRPHex.padded([0x0a, 0xbc]) == [0x0a, 0xbc])
    }

    @Test("base64 round-trips and refuses garbage")
    func base64() {
        var rng = SeededGenerator(seed: 3)
        for n in 0..<70 {
            let bytes = (0..<n).map { _ in UInt8.random(in: 0...255, using: &rng) }
            #expect(Base64.decode(Base64.encode(bytes)) == bytes)
        }
        for bad in ["a", "ab=c", "====", "ab\u{00e9}=", "a===", "YQ==YQ=="] { #expect(Base64.decode(bad) == nil) }
    }
}

/// 2·x for a big-endian byte string.
func doubledBytes(_ x: [UInt8]) -> [UInt8] {
    var out = [UInt8](repeating: 0, count: x.count + 1)
    var carry: UInt16 = 0
    for i in stride(from: x.count - 1, through: 0, by: -1) {
        let v = UInt16(x[i]) * 2 + carry
        out[i + 1] = UInt8(v & 0xff)
        carry = v >> 8
    }
    out[0] = UInt8(carry)
    return out
}
