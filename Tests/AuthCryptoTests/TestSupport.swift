import AuthCrypto
import Foundation

/// A seeded generator (SplitMix64) so every random test replays exactly.
struct SeededGenerator: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// A generator that hands out fixed bytes, for feeding a known b into `startChallenge`.
struct FixedBytesGenerator: RandomNumberGenerator {
    var bytes: [UInt8]
    var index = 0
    init(_ bytes: [UInt8]) { self.bytes = bytes }
    mutating func next() -> UInt64 {
        var v: UInt64 = 0
        for i in 0..<8 {
            v |= UInt64(bytes[index % bytes.count]) << (8 * UInt64(i))
            index += 1
        }
        return v
    }
}

/// Minimal big-endian bytes of a hex number (the form the vectors use).
func numberBytes(_ hex: String) -> [UInt8] {
    SRPHex.decode(SRPHex.padHex(hex))!.drop { $0 == 0 }.map { $0 }
}

func hexOf(_ bytes: [UInt8]) -> String { SRPHex.encode(bytes) }
