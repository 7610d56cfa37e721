import AuthCrypto
import Benchmark

/// The sign-in hot path next to its floor: one bare libcrypto modexp (3072-bit modulus,
/// 256-bit exponent). A USER_SRP_AUTH sign-in needs three; compare `SRP sign-in` with a
/// third of `modexp floor`, and `password verification` with one floor.
let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(metrics: [.throughput, .wallClock], maxDuration: .seconds(3), maxIterations: 10_000)

    var rng = SystemRandomNumberGenerator()
    let poolName = "bench"
    let user = "bench-user"
    let password = "Bench-Passw0rd!"
    let secretBlock = [UInt8](repeating: 7, count: 512)
    let timestamp = CognitoTimestamp.format(1_700_000_000)

    Benchmark("modexp floor (3072-bit N, 256-bit e)") { benchmark in
        var rng = SystemRandomNumberGenerator()
        let floor = ModexpFloor(using: &rng)
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations { floor.run() }
    }

    Benchmark("SRP step 1 (b, B)") { benchmark in
        var rng = SystemRandomNumberGenerator()
        let workspace = SRPWorkspace()
        let stored = workspace.makeVerifier(poolName: poolName, userIdForSrp: user, password: password, using: &rng)
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations {
            blackHole(workspace.startChallenge(verifier: stored, using: &rng))
        }
    }

    Benchmark("SRP step 2 (u, S, key, signature check)") { benchmark in
        var rng = SystemRandomNumberGenerator()
        let workspace = SRPWorkspace()
        let stored = workspace.makeVerifier(poolName: poolName, userIdForSrp: user, password: password, using: &rng)
        let client = SRPClient(poolName: poolName, password: password, using: &rng)
        let challenge = workspace.startChallenge(verifier: stored, using: &rng)
        let signature = try client.signature(
            userIdForSrp: user, BHex: challenge.BHex, saltHex: stored.saltHex, secretBlock: secretBlock, timestamp: timestamp)
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations {
            let key = try workspace.passwordKey(clientAHex: client.AHex, challenge: challenge, verifier: stored)
            precondition(SRPWorkspace.verifyClaim(
                signatureBase64: signature, key: key, poolName: poolName, userIdForSrp: user,
                secretBlock: secretBlock, timestamp: timestamp))
        }
    }

    Benchmark("SRP sign-in (step 1 + step 2)") { benchmark in
        var rng = SystemRandomNumberGenerator()
        let workspace = SRPWorkspace()
        let stored = workspace.makeVerifier(poolName: poolName, userIdForSrp: user, password: password, using: &rng)
        let client = SRPClient(poolName: poolName, password: password, using: &rng)
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations {
            let challenge = workspace.startChallenge(verifier: stored, using: &rng)
            let key = try workspace.passwordKey(clientAHex: client.AHex, challenge: challenge, verifier: stored)
            blackHole(SRPWorkspace.verifyClaim(
                signatureBase64: "AAAA", key: key, poolName: poolName, userIdForSrp: user,
                secretBlock: secretBlock, timestamp: timestamp))
        }
    }

    Benchmark("password verification (g^x, constant-time compare)") { benchmark in
        var rng = SystemRandomNumberGenerator()
        let workspace = SRPWorkspace()
        let stored = workspace.makeVerifier(poolName: poolName, userIdForSrp: user, password: password, using: &rng)
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations {
            precondition(workspace.verify(password: password, poolName: poolName, userIdForSrp: user, against: stored))
        }
    }
    _ = rng.next()
}
