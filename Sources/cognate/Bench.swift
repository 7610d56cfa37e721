import ArgumentParser
import Foundation
import Ops

struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Measure the hot path and the storage layer.",
        subcommands: [Crypto.self, StorageCommand.self]
    )

    struct Crypto: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "crypto",
            abstract: "SRP and password-verification crypto per second on one core, against bare modexp.",
            discussion: """
                Every figure is operations per second on one thread (one core). The floor is one bare \
                libcrypto modexp (3072-bit modulus, 256-bit exponent); a sign-in needs three, so the \
                sign-in floor is a third of it. Operations are timed in interleaved rounds and the \
                best round is kept.
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
            print(String(format: "sign-in / sign-in floor: %.2f   password / floor: %.2f",
                         result.srpSignInRatioToFloor, result.passwordVerifyRatioToFloor))
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
            print(String(format: "durable batched puts (1000)  %10.1f /s  (%.0fx single)",
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
