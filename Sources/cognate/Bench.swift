import ArgumentParser
import Foundation
import Node
import NodeRPC
import Ops
import Sharding

struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Measure the hot path and the storage layer.",
        subcommands: [Crypto.self, StorageCommand.self, SignInCommand.self]
    )

    struct Crypto: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "crypto",
            abstract: "SRP and password-verification crypto per second on one core, against bare modexp.",
            discussion: """
                Every figure is operations per second on one thread (one core). The floor is one bare \
                libcrypto modexp (3072-bit modulus, 256-bit exponent); a sign-in needs three, so the \
                sign-in floor is a third of it. A sign-in also signs two RS256 tokens: the floor with \
                tokens adds two bare libcrypto RSA-2048 signatures. The bare modexp and the bare \
                signature are also timed on every core at once (one thread per core, rates summed); \
                the floor with tokens from those, "cores at once", is what `bench signin` throughput \
                is compared to. It is below the one-core floor times the cores where cores share \
                a physical core, caches or a power budget. Operations are timed in interleaved \
                rounds and the best round is kept.
                """
        )

        @Flag(help: "Print one JSON object instead of a table.")
        var json = false

        @Option(help: "Seconds per measurement.")
        var seconds: Double = 1.0

        @Option(help: "Interleaved rounds; the best is reported.")
        var rounds: Int = 3

        func validate() throws {
            guard seconds > 0, seconds <= 60 else { throw ValidationError("--seconds must be in (0, 60]") }
            guard rounds >= 1, rounds <= 100 else { throw ValidationError("--rounds must be in 1...100") }
        }

        func run() throws {
            let result = CryptoBench(secondsPerMeasurement: seconds, rounds: rounds).run()
            if json {
                try printJSON(result)
                return
            }
            func row(_ name: String, _ value: Double) {
                print(name.padding(toLength: 44, withPad: " ", startingAt: 0) + String(format: "%10.1f /s", value))
            }
            row("modexp floor (3072-bit N, 256-bit e)", result.modexpFloorPerSecond)
            row("sign-in floor (floor / 3)", result.srpSignInFloorPerSecond)
            row("SRP step 1 (b, B)", result.srpStep1PerSecond)
            row("SRP step 2 (u, S, key, signature)", result.srpStep2PerSecond)
            row("SRP sign-in (step 1 + step 2)", result.srpSignInPerSecond)
            row("password verification (g^x)", result.passwordVerifyPerSecond)
            row("RSA-2048 signature floor (libcrypto)", result.rsaSignFloorPerSecond)
            row("RS256 token (JSON + signature)", result.tokenSignPerSecond)
            row("sign-in + 2 tokens floor (3 modexp + 2 RSA)", result.signInWithTokensFloorPerSecond)
            row("SRP sign-in + 2 tokens", result.signInWithTokensPerSecond)
            row("sign-in + 2 tokens floor, \(result.cores) × one core", result.signInWithTokensFloorAllCores)
            row("modexp floor, \(result.cores) cores at once", result.modexpFloorAllCoresPerSecond)
            row("RSA-2048 floor, \(result.cores) cores at once", result.rsaSignFloorAllCoresPerSecond)
            row("sign-in + 2 tokens floor, \(result.cores) cores at once", result.signInWithTokensFloorAllCoresMeasured)
            row("SRP client side (bench signin's load)", result.srpClientPerSecond)
            print(
                String(
                    format:
                        "sign-in / sign-in floor: %.2f   password / floor: %.2f   sign-in with tokens / its floor: "
                        + "%.2f",
                    result.srpSignInRatioToFloor, result.passwordVerifyRatioToFloor, result.signInWithTokensRatioToFloor
                ))
        }
    }

    struct StorageCommand: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "storage",
            abstract: "Durable LMDB commits through the Storage layer.",
            discussion: """
                Writes to a fresh environment under --dir (removed afterwards): single-put durable \
                commits, then 1,000 puts per durable commit, then point gets. Compare with the C \
                floor: Benchmarks/lmdb-floor/run.sh runs both.
                """
        )

        @Flag(help: "Print one JSON object instead of a table.")
        var json = false

        @Option(help: "Directory for the scratch environment (on the disk you want to measure).")
        var dir: String = "./.bench-storage"

        @Option(help: "Single-put commits to time.")
        var commits: Int = 2000

        @Option(help: "Batches of 1,000 puts to time.")
        var batches: Int = 20

        func validate() throws {
            guard commits > 0, batches > 0 else { throw ValidationError("--commits and --batches must be positive") }
        }

        func run() throws {
            let path = dir + "/env-\(getpid())"
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(atPath: path) }
            let result = try StorageBench(directory: path, singleCommits: commits, batches: batches).run()
            if json {
                try printJSON(result)
                return
            }
            print(String(format: "durable single-put commits   %10.1f /s", result.durableSinglePutCommitsPerSecond))
            print(
                String(
                    format: "durable batched puts (1000)  %10.1f /s  (%.0fx single)",
                    result.durableBatchedPutsPerSecond, result.batchedToSingleRatio))
            print(String(format: "point gets                   %10.1f /s", result.pointGetsPerSecond))
        }
    }
}

func printJSON(_ value: some Encodable) throws {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys]
    print(String(decoding: try encoder.encode(value), as: UTF8.self))
}

struct SignInCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "signin",
        abstract: "Load-benchmark sign-ins against any Cognito-compatible endpoint.",
        discussion: """
            Creates (or reuses, with --pool and --client) a pool, an app client and --users users \
            through admin calls (SigV4 with --access-key/--secret-key), then signs in at --concurrency \
            in a closed loop for --duration seconds, with a live progress line. Reports throughput and \
            latency percentiles, errors by exception name, and whether the endpoint refused a wrong \
            password (an endpoint that does no SRP math accepts it).
            """
    )

    @Option(help: "The Cognito API endpoint.") var endpoint: String = "http://127.0.0.1:9229"
    @Option(
        help: ArgumentHelp(
            "Users to sign in as, bench-user-0 … bench-user-(N−1); made (or given the bench password again) before "
                + "the load.")
    ) var users: Int = 100
    @Option(help: "Sign-ins in flight at once (closed loop: each starts when one ends).") var concurrency: Int = 16
    @Option(help: "Seconds (a trailing s is allowed: 30s).") var duration: String = "30"
    @Option(
        help: """
            srp, srp+totp (SRP, then the SOFTWARE_TOKEN_MFA challenge: a step's code answers once, so use about \
            15 users per sign-in a second), passkey (USER_AUTH's WEB_AUTHN answered with a P-256 passkey the \
            bench registers per user), client-credentials (GetClientToken: a machine-to-machine token, no user), \
            password or refresh.
            """) var flow: String = "srp"
    @Option(help: "Reuse this user pool id instead of creating one.") var pool: String?
    @Option(help: "Reuse this app client id of --pool (it must allow the flow) instead of creating one.") var client:
        String?
    @Option(help: "The region SigV4 signs the admin calls for.") var region: String = "us-east-1"
    @Option(name: .customLong("access-key"), help: "Access key for the admin calls (SigV4).") var accessKey: String =
        "cognate"
    @Option(name: .customLong("secret-key"), help: "Secret key for the admin calls (SigV4).") var secretKey: String =
        "cognate-local-secret"
    @Option(help: "Directory for the JSON result and the SVG chart.") var out: String?
    @Option(help: "A second endpoint to run the same load against, reported side by side.") var compare: String?
    @Option(name: .customLong("compare-access-key"), help: "Access key for --compare's admin calls (moto takes any).")
    var compareAccessKey: String = "testing"
    @Option(name: .customLong("compare-secret-key"), help: "Secret key for --compare's admin calls.")
    var compareSecretKey: String = "testing"
    @Flag(
        help:
            "Measure the crypto floor first (bench crypto: best of 3 rounds of 0.5 s) and report sign-ins/s against it."
    )
    var floor = false
    @Option(
        help: ArgumentHelp(
            "Cluster definition behind --endpoint: its nodes' CPU (admin /metrics) is counted with the front's.",
            discussion:
                "Without it, Cluster/local.toml (or the copy built into the binary) is used when --endpoint is that "
                + "definition's front."
        ))
    var config: String?
    @Flag(help: "Print the reports as JSON instead of the table.") var json = false

    func run() async throws {
        runTasksOnEventLoops()
        guard let seconds = Double(duration.hasSuffix("s") ? String(duration.dropLast()) : duration), seconds > 0,
            seconds <= 3600
        else {
            throw ValidationError("--duration must be 1...3600 seconds")
        }
        guard let f = SignInBench.Flow(rawValue: flow) else {
            throw ValidationError("--flow must be srp, srp+totp, passkey, client-credentials, password or refresh")
        }
        guard (1...4096).contains(concurrency), (1...100_000).contains(users) else {
            throw ValidationError("--concurrency 1...4096, --users 1...100000")
        }
        var options = SignInBench.Options()
        options.users = users
        options.concurrency = concurrency
        options.seconds = seconds
        options.flow = f
        options.pool = pool
        options.client = client
        options.nodeAdmins = try nodeAdmins()
        let log: @Sendable (String) -> Void = {
            FileHandle.standardError.write(Data(($0 + ($0.hasPrefix("\r") || $0 == "\n" ? "" : "\n")).utf8))
        }
        var reports: [SignInBench.Report] = []
        var crypto: CryptoBench.Result?
        if floor {
            log("measuring the crypto floor (bench crypto: best of 3 rounds of 0.5 s, about 17 s)…")
            crypto = CryptoBench(secondsPerMeasurement: 0.5, rounds: 3).run()
        }
        for (url, key, secret) in [(endpoint, accessKey, secretKey)]
            + (compare.map { [($0, compareAccessKey, compareSecretKey)] } ?? [])
        {
            log("== \(url)")
            let http = try CognitoHTTPClient(endpoint: url, region: region, accessKey: key, secretKey: secret)
            var o = options
            if url != endpoint {
                o.pool = nil
                o.client = nil
                o.nodeAdmins = []
            }
            let bench = SignInBench(client: http, endpoint: url, options: o)
            let (p, c) = try await bench.setUp(log: log)
            reports.append(try await bench.run(pool: p, clientId: c, progress: log))
        }
        if let out {
            try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
            try encoder.encode(reports).write(to: URL(fileURLWithPath: "\(out)/signin-\(f.rawValue).json"))
            try BenchChart.svg(reports).write(
                toFile: "\(out)/signin-\(f.rawValue).svg", atomically: true, encoding: .utf8)
            log("wrote \(out)/signin-\(f.rawValue).json and .svg")
        }
        if json {
            try printJSON(reports.count == 1 ? [reports[0]] : reports)
            return
        }
        let floor = crypto.map { CryptoFloor($0, flow: f) }
        for report in reports {
            print(
                String(
                    format:
                        "%@ %@ c=%d: %.1f sign-ins/s over %.1fs (%d); p50 %.1f ms, p90 %.1f, p99 %.1f, p99.9 %.1f, "
                        + "max %.1f",
                    report.endpoint, f.rawValue, concurrency, report.signInsPerSecond, report.seconds, report.signIns,
                    report.p50Ms, report.p90Ms, report.p99Ms, report.p999Ms, report.maxMs))
            if !report.errors.isEmpty {
                print("errors: " + report.errors.map { "\($0.key) \($0.value)" }.sorted().joined(separator: ", "))
            }
            if let floor {
                print(
                    String(
                        format:
                            "  = %.0f%% of the %d-core crypto floor (%.1f sign-ins/s: %@ each, libcrypto on %d cores "
                            + "at once, same run; %d × one core would be %.1f/s, %.0f%%)",
                        100 * report.signInsPerSecond / floor.allCores, floor.cores, floor.allCores, floor.what,
                        floor.cores,
                        floor.cores, floor.extrapolated, 100 * report.signInsPerSecond / floor.extrapolated))
            }
            if let endpointCPU = report.endpointCPUMsPerSignIn {
                print(
                    Self.cpuLines(
                        report, endpointCPU: endpointCPU, floor: floor, crypto: crypto, flow: f,
                        colocated: Self.isLoopback(report.endpoint)))
            }
            if let refused = report.wrongPasswordRefused {
                print(
                    refused
                        ? "  a wrong password was refused: the endpoint verifies the proof"
                        : "  WARNING: a wrong password was ACCEPTED: this endpoint does no real password/SRP "
                            + "verification, so its figures are not comparable"
                )
            }
        }
        if reports.count > 1 { print("\n" + Self.sideBySide(reports, floor: floor)) }
        if floor != nil, reports.contains(where: { Self.isLoopback($0.endpoint) }) {
            print(
                "\nnote: the endpoint is on this machine, so this load generator shares its cores (its own CPU per "
                    + "sign-in is above); the floor assumes the endpoint has every core to itself.")
        }
    }

    /// The admin addresses of the nodes behind `--endpoint`: those of `--config`, else of the
    /// default definition when the endpoint is its front.
    func nodeAdmins() throws -> [String] {
        if let config { return try ClusterConfig.load(path: config).nodes.map(\.admin) }
        guard let cluster = try? ClusterConfig.load(path: ClusterConfig.defaultPath),
            let url = URL(string: endpoint), let host = url.host,
            let front = try? HostPort(cluster.front ?? "127.0.0.1:9229"),
            (host == "localhost" ? "127.0.0.1" : host) == front.host, (url.port ?? 80) == front.port
        else { return [] }
        return cluster.nodes.map(\.admin)
    }

    /// Where the CPU of one sign-in went, and what that allows: the service's CPU against the
    /// crypto floor, and, with the load generator on the same cores, the most that the crypto
    /// of both sides leaves room for before any HTTP, JSON or Raft work.
    static func cpuLines(
        _ report: SignInBench.Report, endpointCPU: Double, floor: CryptoFloor?, crypto: CryptoBench.Result?,
        flow: SignInBench.Flow, colocated: Bool
    ) -> String {
        let client = report.clientCPUMsPerSignIn ?? 0
        var lines: [String] = []
        var service = endpointCPU
        if let nodes = report.nodesCPUMsPerSignIn, let n = report.nodesCounted {
            service += nodes
            lines.append(
                String(
                    format:
                        "  CPU per sign-in: the front %.2f ms + %d node%@ %.2f ms = the service %.2f ms; this load "
                        + "generator %.2f ms",
                    endpointCPU, n, n == 1 ? "" : "s", nodes, service, client))
        } else {
            lines.append(
                String(
                    format: "  CPU per sign-in: the endpoint %.2f ms; this load generator %.2f ms", endpointCPU, client)
            )
        }
        guard let floor else { return lines.joined(separator: "\n") }
        let floorMs = 1000 / floor.perCore
        let what = report.nodesCPUMsPerSignIn == nil ? "the endpoint's" : "the service's"
        lines.append(
            String(
                format:
                    "  the crypto floor is %.2f ms of %@ %.2f ms (%.0f%%): with all %d cores to itself it could "
                    + "reach about %.0f sign-ins/s",
                floorMs, what, service, 100 * floorMs / service, floor.cores, 1000 * Double(floor.cores) / service))
        if colocated, let crypto,
            let ceiling = CoLocatedCeiling(crypto, flow: flow, cores: floor.cores, contention: floor.contention)
        {
            lines.append(
                String(
                    format:
                        "  on these shared cores the crypto alone (the endpoint's %.2f ms, bench crypto, + this load "
                        + "generator's %.2f ms) caps the run at %.0f sign-ins/s = %.0f%% of the floor",
                    ceiling.serverMs, ceiling.clientMs, ceiling.perSecond, 100 * ceiling.perSecond / floor.allCores))
        }
        return lines.joined(separator: "\n")
    }

    /// The most sign-ins per second a run can reach with its load generator on the endpoint's
    /// cores, if nothing but the crypto of both sides took CPU: our measured crypto per
    /// sign-in (not the floor's), plus the client's SRP step, one-core figures scaled by what
    /// running every core at once costs (`CryptoFloor.contention`).
    struct CoLocatedCeiling {
        var serverMs: Double
        var clientMs: Double
        var perSecond: Double

        init?(_ c: CryptoBench.Result, flow: SignInBench.Flow, cores: Int, contention: Double) {
            switch flow {
            case .srp, .srpTotp:
                serverMs = 1000 / c.signInWithTokensPerSecond
                clientMs = 1000 / c.srpClientPerSecond
            case .password, .refresh, .passkey, .clientCredentials:
                // The client does no crypto (or one P-256 signature): the endpoint has the cores.
                return nil
            }
            perSecond = contention * 1000 * Double(cores) / (serverMs + clientMs)
        }
    }

    static func isLoopback(_ endpoint: String) -> Bool {
        guard let host = URL(string: endpoint)?.host else { return false }
        return host == "localhost" || host.hasPrefix("127.") || host == "::1" || host == "[::1]"
    }

    /// What a sign-in of one flow costs at least in crypto, from `bench crypto`'s bare
    /// libcrypto figures: the sign-ins per second one core could reach, and every core at once
    /// (measured so, not multiplied).
    struct CryptoFloor {
        var perCore: Double
        /// From the bare modexp and signature timed on every core at once.
        var allCores: Double
        /// `perCore` times the cores.
        var extrapolated: Double
        var cores: Int
        var what: String
        /// allCores / extrapolated: what the cores lose to each other when all are busy.
        var contention: Double { allCores / extrapolated }

        init(_ c: CryptoBench.Result, flow: SignInBench.Flow) {
            // Seconds of bare libcrypto work per sign-in: modexps and RS256 signatures.
            let (modexps, what): (Double, String) =
                switch flow {
                case .srp, .srpTotp: (3, "3 modexps + 2 RSA-2048 signatures")
                case .password: (1, "1 modexp + 2 RSA-2048 signatures")
                case .refresh: (0, "2 RSA-2048 signatures")
                case .passkey: (0, "2 RSA-2048 signatures (the P-256 verify not counted)")
                case .clientCredentials: (0, "1 RSA-2048 signature")
                }
            let signatures: Double = flow == .clientCredentials ? 1 : 2
            perCore = 1 / (modexps / c.modexpFloorPerSecond + signatures / c.rsaSignFloorPerSecond)
            allCores = 1 / (modexps / c.modexpFloorAllCoresPerSecond + signatures / c.rsaSignFloorAllCoresPerSecond)
            extrapolated = perCore * Double(c.cores)
            cores = c.cores
            self.what = what
        }
    }

    /// The endpoints' figures in columns, one row per measure.
    static func sideBySide(_ reports: [SignInBench.Report], floor: CryptoFloor?) -> String {
        func ms(_ v: Double) -> String { String(format: "%.1f ms", v) }
        var rows: [(String, [String])] = [
            ("endpoint", reports.map(\.endpoint)),
            ("sign-ins/s", reports.map { String(format: "%.1f", $0.signInsPerSecond) }),
        ]
        if let floor {
            rows.append(
                (
                    "share of the crypto floor",
                    reports.map { String(format: "%.0f%%", 100 * $0.signInsPerSecond / floor.allCores) }
                ))
        }
        rows += [
            ("p50", reports.map { ms($0.p50Ms) }), ("p90", reports.map { ms($0.p90Ms) }),
            ("p99", reports.map { ms($0.p99Ms) }),
            ("p99.9", reports.map { ms($0.p999Ms) }), ("max", reports.map { ms($0.maxMs) }),
            (
                "errors",
                reports.map {
                    $0.errors.isEmpty
                        ? "none" : $0.errors.map { "\($0.key) \($0.value)" }.sorted().joined(separator: ", ")
                }
            ),
            (
                "endpoint CPU per sign-in",
                reports.map { $0.endpointCPUMsPerSignIn.map { String(format: "%.2f ms", $0) } ?? "not exported" }
            ),
            (
                "nodes' CPU per sign-in",
                reports.map { r in
                    r.nodesCPUMsPerSignIn.map { String(format: "%.2f ms (%d)", $0, r.nodesCounted ?? 0) }
                        ?? "not counted"
                }
            ),
            (
                "wrong password",
                reports.map { r in
                    r.wrongPasswordRefused.map { $0 ? "refused" : "ACCEPTED (no real check)" } ?? "not probed"
                }
            ),
        ]
        let width = rows.map(\.0.count).max()! + 2
        let columns = reports.indices.map { i in rows.map { $0.1[i].count }.max()! + 2 }
        return rows.map { name, values in
            var line =
                name.padding(toLength: width, withPad: " ", startingAt: 0)
                + values.enumerated().map { $1.padding(toLength: columns[$0], withPad: " ", startingAt: 0) }.joined()
            while line.hasSuffix(" ") { line.removeLast() }
            return line
        }.joined(separator: "\n")
    }
}
