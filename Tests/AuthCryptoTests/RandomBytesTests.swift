import AuthCrypto
import Testing

@Suite("Random bytes and ids")
struct RandomBytesTests {
    @Test("bytes are every byte of each draw, in order, however many are asked for")
    func everyByteOfEachDraw() {
        let source = (0..<40).map { UInt8($0 * 7 % 256) }
        for count in [0, 1, 7, 8, 9, 12, 16, 32, 33] {
            var rng = FixedBytesGenerator(source)
            #expect(rng.bytes(count) == Array(source.prefix(count)), "count \(count)")
        }
    }

    @Test("a random UUID is RFC 9562 version 4 text, and two differ")
    func uuidShape() {
        var rng = SeededGenerator(seed: 42)
        for _ in 0..<200 {
            let id = randomUUIDString(using: &rng)
            let parts = id.split(separator: "-", omittingEmptySubsequences: false)
            #expect(parts.map(\.count) == [8, 4, 4, 4, 12], "\(id)")
            #expect(id.allSatisfy { "0123456789abcdef-".contains($0) }, "\(id)")
            #expect(parts[2].first == "4", "\(id)")
            #expect("89ab".contains(parts[3].first!), "\(id)")
        }
        #expect(randomUUIDString(using: &rng) != randomUUIDString(using: &rng))
    }
}
