import AuthCrypto
import Foundation
import Testing

@Suite("Base64")
struct Base64Tests {
    @Test("agrees with Foundation for every length from 0 to 100 and reads its own output back")
    func matchesFoundation() {
        var rng = SeededGenerator(seed: 0xB64)
        for length in 0...100 {
            let bytes = rng.bytes(length)
            let text = Base64.encode(bytes)
            #expect(text == Data(bytes).base64EncodedString(), "length \(length)")
            #expect(Base64.decode(text) == bytes, "length \(length)")
        }
    }

    @Test("malformed text is refused", arguments: ["A", "AB=", "A===", "AB=C", "=AAA", "AA==AAAA", "AAA*", "ü===", "AAAA\n"])
    func malformed(_ text: String) {
        #expect(Base64.decode(text) == nil)
    }
}

@Suite("Base64URL")
struct Base64URLTests {
    @Test("unpadded, URL-safe, and read back for every length from 0 to 100")
    func roundTrip() {
        var rng = SeededGenerator(seed: 0xB64_0)
        for length in 0...100 {
            let bytes = rng.bytes(length)
            let text = Base64URL.encode(bytes)
            let expected = Data(bytes).base64EncodedString().replacingOccurrences(of: "+", with: "-")
                .replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
            #expect(text == expected, "length \(length)")
            #expect(Base64URL.decode(text) == bytes, "length \(length)")
        }
    }

    @Test("one spelling per value: standard characters, padding and impossible lengths are refused",
          arguments: ["a+bc", "a/bc", "YQ==", "YQ=", "A", "AAAAA", "AA*A", "ü"])
    func malformed(_ text: String) {
        #expect(Base64URL.decode(text) == nil)
    }
}
