import AuthCrypto
import Dispatch
import Foundation
import Synchronization
import UserPool

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
        /// Bare libcrypto RSA-2048 PKCS#1 v1.5 SHA-256 signatures (RS256's math).
        public var rsaSignFloorPerSecond: Double
        /// Our RS256 token signing (claims to JSON, base64url, BoringSSL signature).
        public var tokenSignPerSecond: Double
        /// A whole SRP sign-in's crypto floor on one core: three modexps and two RSA signatures.
        public var signInWithTokensFloorPerSecond: Double
        /// The one-core floor times the cores: what every core could do if running them all
        /// cost nothing (cores that share a physical core, caches or a power budget do less).
        public var signInWithTokensFloorAllCores: Double
        public var cores: Int
        /// Bare modexps per second with every core running them at once (all threads summed).
        public var modexpFloorAllCoresPerSecond: Double
        /// Bare RSA-2048 signatures per second with every core signing at once.
        public var rsaSignFloorAllCoresPerSecond: Double
        /// The sign-in floor with tokens from those two: what every core running nothing but
        /// the floor's libcrypto calls at once reaches. `bench signin` compares to this.
        public var signInWithTokensFloorAllCoresMeasured: Double
        /// Our sign-in crypto with its two tokens, one core.
        public var signInWithTokensPerSecond: Double
        public var signInWithTokensRatioToFloor: Double
        /// The client's side of one SRP sign-in as `bench signin` computes it (A, x and k·g^x
        /// kept per user, so one modexp with an exponent of about 512 bits, then the HKDF key
        /// and the claim's HMAC): what a load generator on the endpoint's machine takes from
        /// the same cores.
        public var srpClientPerSecond: Double
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
            guard
                let key = try? workspace.passwordKey(clientAHex: client.AHex, challenge: challenge, verifier: verifier)
            else { return false }
            return SRPWorkspace.verifyClaim(
                signatureBase64: signature, key: key, poolName: poolName, userIdForSrp: user,
                secretBlock: secretBlock, timestamp: timestamp)
        }
        precondition(step2(challenge, signature), "benchmark set-up: the right password must verify")
        let signer = try! JWTSigner.generate(keyId: "bench")
        let rsaFloor = RSASignFloor(privateKeyDER: signer.privateKeyDER)
        precondition(rsaFloor.run() == 256, "benchmark set-up: libcrypto must sign with the key")
        // Claims the size of a Cognito id token's, as the front encodes them.
        let claims = IDTokenClaims(
            sub: "0b2c6c0e-5d0b-4b8a-9a53-5a3b7e8f9a10", groups: nil, iss: "http://127.0.0.1:9229/us-east-1_AbCdEfGhI",
            username: "bench-user-1", originJti: "4f0e2f9c-1b1e-4c55-8d0a-0b6a3b1f2e3d",
            aud: "4b3c2d1e0f9a8b7c6d5e4f3a2b",
            eventId: "9c1d1e5e-2b0a-4f7e-8e21-3c4d5e6f7a8b", tokenUse: "id", authTime: 1_700_000_000,
            exp: 1_700_003_600, iat: 1_700_000_000, jti: "5e6f7a8b-9c0d-4e1f-a2b3-c4d5e6f7a8b9",
            attributes: ["email": "bench-user-1@example.com", "email_verified": "true"])

        let cores = max(1, sysconf(Int32(_SC_NPROCESSORS_ONLN)))
        let der = signer.privateKeyDER
        var best = [Double](repeating: 0, count: 11)
        for _ in 0..<rounds {
            best[0] = max(best[0], rate { floor.run() })
            best[1] = max(best[1], rate { _ = workspace.startChallenge(verifier: verifier, using: &rng) })
            best[2] = max(best[2], rate { _ = step2(challenge, signature) })
            // A whole sign-in: a fresh b and B, then S, the key and a signature check. The
            // check fails (the client signed another B), but costs the same as a success.
            best[3] = max(
                best[3],
                rate {
                    let c = workspace.startChallenge(verifier: verifier, using: &rng)
                    _ = step2(c, signature)
                })
            best[4] = max(
                best[4],
                rate {
                    _ = workspace.verify(password: password, poolName: poolName, userIdForSrp: user, against: verifier)
                })
            best[5] = max(best[5], rate { rsaFloor.run() })
            best[6] = max(best[6], rate { _ = try? signer.sign(claims) })
            best[7] = max(
                best[7],
                rate {
                    let c = workspace.startChallenge(verifier: verifier, using: &rng)
                    _ = step2(c, signature)
                    _ = try? signer.sign(claims)
                    _ = try? signer.sign(claims)
                })
            best[8] = max(
                best[8],
                rate {
                    _ = try? client.signature(
                        userIdForSrp: user, BHex: challenge.BHex, saltHex: verifier.saltHex, secretBlock: secretBlock,
                        timestamp: timestamp)
                })
            best[9] = max(
                best[9],
                parallelRate(threads: cores) {
                    var rng = SystemRandomNumberGenerator()
                    let own = ModexpFloor(using: &rng)
                    return { own.run() }
                })
            best[10] = max(
                best[10],
                parallelRate(threads: cores) {
                    let own = RSASignFloor(privateKeyDER: der)
                    return { own.run() }
                })
        }
        let withTokensFloor = 1 / (3 / best[0] + 2 / best[5])
        return Result(
            modexpFloorPerSecond: best[0], srpStep1PerSecond: best[1], srpStep2PerSecond: best[2],
            srpSignInPerSecond: best[3], passwordVerifyPerSecond: best[4],
            srpSignInFloorPerSecond: best[0] / 3, rsaSignFloorPerSecond: best[5], tokenSignPerSecond: best[6],
            signInWithTokensFloorPerSecond: withTokensFloor,
            signInWithTokensFloorAllCores: withTokensFloor * Double(cores), cores: cores,
            modexpFloorAllCoresPerSecond: best[9], rsaSignFloorAllCoresPerSecond: best[10],
            signInWithTokensFloorAllCoresMeasured: 1 / (3 / best[9] + 2 / best[10]),
            signInWithTokensPerSecond: best[7], signInWithTokensRatioToFloor: best[7] / withTokensFloor,
            srpClientPerSecond: best[8],
            srpSignInRatioToFloor: best[3] / (best[0] / 3),
            passwordVerifyRatioToFloor: best[4] / best[0],
            secondsPerMeasurement: secondsPerMeasurement, rounds: rounds)
    }

    /// Operations per second of every thread together, `threads` of them running at once for
    /// about `secondsPerMeasurement`, each with the body `make` builds for it (set up before
    /// the clock starts).
    private func parallelRate(threads: Int, _ make: @Sendable () -> (() -> Void)) -> Double {
        let total = Mutex(0.0)
        let seconds = secondsPerMeasurement
        DispatchQueue.concurrentPerform(iterations: threads) { _ in
            let body = make()
            let r = Self.rate(seconds: seconds, body)
            total.withLock { $0 += r }
        }
        return total.withLock { $0 }
    }

    /// Operations per second of `body` over about `secondsPerMeasurement`.
    private func rate(_ body: () -> Void) -> Double { Self.rate(seconds: secondsPerMeasurement, body) }

    /// Operations per second of `body` over about `seconds`, in batches of 8 between clock reads.
    private static func rate(seconds: Double, _ body: () -> Void) -> Double {
        let start = monotonicSeconds()
        var n = 0
        var now = start
        repeat {
            for _ in 0..<8 { body() }
            n += 8
            now = monotonicSeconds()
        } while now - start < seconds
        return Double(n) / (now - start)
    }
}

/// Seconds on the monotonic clock.
public func monotonicSeconds() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}
