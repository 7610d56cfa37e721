import AuthCrypto

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `cognate bench crypto`: the hot path's crypto, one thread, timed against the bare modexp
/// floor measured in the same run.
///
/// Operations are timed in interleaved rounds (floor, B, S+key+check, sign-in, password, …)
/// so a neighbour that slows the machine down slows every figure alike; each figure is the
/// best round.
public struct CryptoBench {
    public struct Result: Codable, Sendable {
        /// Bare BN_mod_exp_mont, 3072-bit modulus, 256-bit exponent.
        public var modexpFloorPerSecond: Double
        /// SRP server step 1: b and B = k·v + g^b.
        public var srpStep1PerSecond: Double
        /// SRP server step 2: u, S = (A·v^u)^b, HKDF key, PASSWORD_CLAIM_SIGNATURE check.
        public var srpStep2PerSecond: Double
        /// A whole SRP sign-in's crypto: step 1 + step 2.
        public var srpSignInPerSecond: Double
        /// USER_PASSWORD_AUTH: recompute g^x and compare.
        public var passwordVerifyPerSecond: Double
        /// Sign-ins the floor allows: floor / 3 (three modexps per sign-in).
        public var srpSignInFloorPerSecond: Double
        public var srpSignInRatioToFloor: Double
        public var passwordVerifyRatioToFloor: Double
        public var secondsPerMeasurement: Double
        public var rounds: Int
    }

    public var secondsPerMeasurement: Double
    public var rounds: Int

    public init(secondsPerMeasurement: Double = 1.0, rounds: Int = 3) {
        self.secondsPerMeasurement = secondsPerMeasurement
        self.rounds = rounds
    }

    public func run() -> Result {
        var rng = SystemRandomNumberGenerator()
        let workspace = SRPWorkspace()
        let floor = ModexpFloor(using: &rng)
        let poolName = "bench"
        let user = "bench-user"
        let password = "Bench-Passw0rd!"
        let verifier = workspace.makeVerifier(poolName: poolName, userIdForSrp: user, password: password, using: &rng)
        let client = SRPClient(poolName: poolName, password: password, using: &rng)
        let secretBlock = [UInt8](repeating: 7, count: 512)
        let timestamp = CognitoTimestamp.format(1_700_000_000)

        // One fixed challenge and the client's matching signature, for the step-2 figure.
        let challenge = workspace.startChallenge(verifier: verifier, using: &rng)
        let signature = try! client.signature(
            userIdForSrp: user, BHex: challenge.BHex, saltHex: verifier.saltHex, secretBlock: secretBlock,
            timestamp: timestamp)

        func step2(_ challenge: SRPServerChallenge, _ signature: String) -> Bool {
            guard let key = try? workspace.passwordKey(clientAHex: client.AHex, challenge: challenge, verifier: verifier)
            else { return false }
            return SRPWorkspace.verifyClaim(
                signatureBase64: signature, key: key, poolName: poolName, userIdForSrp: user,
                secretBlock: secretBlock, timestamp: timestamp)
        }
        precondition(step2(challenge, signature), "benchmark set-up: the right password must verify")

        var best = [Double](repeating: 0, count: 5)
        for _ in 0..<rounds {
            best[0] = max(best[0], rate { floor.run() })
            best[1] = max(best[1], rate { _ = workspace.startChallenge(verifier: verifier, using: &rng) })
            best[2] = max(best[2], rate { _ = step2(challenge, signature) })
            // A whole sign-in: a fresh b and B, then S, the key and a signature check. The
            // check fails (the client signed another B), but costs the same as a success.
            best[3] = max(best[3], rate {
                let c = workspace.startChallenge(verifier: verifier, using: &rng)
                _ = step2(c, signature)
            })
            best[4] = max(best[4], rate {
                _ = workspace.verify(password: password, poolName: poolName, userIdForSrp: user, against: verifier)
            })
        }
        return Result(
            modexpFloorPerSecond: best[0], srpStep1PerSecond: best[1], srpStep2PerSecond: best[2],
            srpSignInPerSecond: best[3], passwordVerifyPerSecond: best[4],
            srpSignInFloorPerSecond: best[0] / 3, srpSignInRatioToFloor: best[3] / (best[0] / 3),
            passwordVerifyRatioToFloor: best[4] / best[0],
            secondsPerMeasurement: secondsPerMeasurement, rounds: rounds)
    }

    /// Operations per second of `body` over about `secondsPerMeasurement`.
    private func rate(_ body: () -> Void) -> Double {
        let start = monotonicSeconds()
        var n = 0
        var now = start
        repeat {
            for _ in 0..<8 { body() }
            n += 8
            now = monotonicSeconds()
        } while now - start < secondsPerMeasurement
        return Double(n) / (now - start)
    }
}

/// Seconds on the monotonic clock.
public func monotonicSeconds() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}
