import AuthCrypto
import Foundation
import Testing

@Suite("CompactJSON for token claims")
struct CompactJSONTests {
    @Test("reads back as the same object, keys sorted, escapes right")
    func roundTrip() throws {
        let claims: [String: Any] = [
            "sub": "a\"b\\c\nd\te\u{1}f", "iat": Int64(1_700_000_000), "n": 42, "ok": true, "no": false, "pi": 3.5,
            "cognito:groups": ["admins", "ünïcode ✓"], "nested": ["b": 1, "a": "x"],
        ]
        let bytes = try #require(CompactJSON.encode(claims))
        let text = String(decoding: bytes, as: UTF8.self)
        #expect(text.hasPrefix("{\"cognito:groups\":[\"admins\",\"ünïcode ✓\"],\"iat\":1700000000,\"n\":42,\"nested\":{\"a\":\"x\",\"b\":1}"))
        #expect(text.contains("\"sub\":\"a\\\"b\\\\c\\nd\\te\\u0001f\""))
        let back = try #require(try JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any])
        #expect(back["sub"] as? String == "a\"b\\c\nd\te\u{1}f")
        #expect(back["ok"] as? Bool == true && back["no"] as? Bool == false)
        #expect(back["pi"] as? Double == 3.5 && back["iat"] as? Int == 1_700_000_000)
        #expect(CompactJSON.encode(["date": Date()]) == nil)
        // Numbers parsed by JSONSerialization keep their kind: 1 stays 1, true stays true.
        let parsed = try #require(try JSONSerialization.jsonObject(with: Data(#"{"a":1,"b":true,"c":0,"d":2.5,"e":false}"#.utf8)) as? [String: Any])
        #expect(CompactJSON.encode(parsed).map { String(decoding: $0, as: UTF8.self) } == #"{"a":1,"b":true,"c":0,"d":2.5,"e":false}"#)
        #expect(CompactJSON.encode(["x": Double.nan]) == nil)
    }
}
