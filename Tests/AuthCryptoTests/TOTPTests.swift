import Testing

@testable import AuthCrypto

@Suite("TOTP and base32")
struct TOTPTests {
    static let secret = Array("12345678901234567890".utf8)

    @Test("RFC 6238's SHA-1 test vectors, as six digits")
    func rfc6238() {
        let vectors: [(Int64, String)] = [
            (59, "287082"), (1_111_111_109, "081804"), (1_111_111_111, "050471"), (1_234_567_890, "005924"),
            (2_000_000_000, "279037"), (20_000_000_000, "353130"),
        ]
        for (time, code) in vectors {
            #expect(TOTP.code(secret: Self.secret, step: time / 30) == code)
        }
    }

    @Test("a code is good one step either side of now, once, and nothing else is")
    func window() {
        let now: Int64 = 1_234_567_890
        let step = now / 30
        for delta in [-1, 0, 1] as [Int64] {
            let code = TOTP.code(secret: Self.secret, step: step + delta)
            #expect(TOTP.matchingStep(code, secret: Self.secret, now: now, after: nil) == step + delta)
            // Used: that step and those before it are refused.
            #expect(TOTP.matchingStep(code, secret: Self.secret, now: now, after: step + delta) == nil)
        }
        #expect(TOTP.matchingStep(TOTP.code(secret: Self.secret, step: step + 2), secret: Self.secret, now: now, after: nil) == nil)
        #expect(TOTP.matchingStep(TOTP.code(secret: Self.secret, step: step - 2), secret: Self.secret, now: now, after: nil) == nil)
        for bad in ["", "12345", "1234567", "12345a", "１２３４５６", " 005924"] {
            #expect(TOTP.matchingStep(bad, secret: Self.secret, now: now, after: nil) == nil)
        }
    }

    @Test("base32 as RFC 4648 spells it, without padding")
    func base32() {
        let vectors = ["": "", "f": "MY", "fo": "MZXQ", "foo": "MZXW6", "foob": "MZXW6YQ", "fooba": "MZXW6YTB",
                       "foobar": "MZXW6YTBOI"]
        for (plain, encoded) in vectors {
            #expect(Base32.encode(Array(plain.utf8)) == encoded)
        }
        #expect(Base32.encode(Array(repeating: 0xff, count: TOTP.secretBytes)).count == 32)
        for (plain, encoded) in vectors {
            #expect(Base32.decode(encoded) == Array(plain.utf8))
            #expect(Base32.decode(encoded.lowercased() + "===") == Array(plain.utf8))
        }
        #expect(Base32.decode("MZ1W") == nil && Base32.decode("mz-w") == nil)
    }
}
