import CognitoModel
import Foundation
import NodeRPC
import Sharding
import UserPool

/// `cognate drill failover`: a mixed Cognito load against a cluster this process started,
/// one fault per round, then a verdict on what the clients were told.
///
/// The load: sign-ups (each acknowledged one must exist at the end), attribute updates of a
/// few users used as registers (`nickname` written by writers, read back by readers with
/// AdminGetUser, checked for linearizability), and sign-ins. Probes write to one user per
/// shard every 50 ms; a round's recovery time is from the fault to the first probe started
/// after it that each shard acknowledges.
public final class FailoverDrill: @unchecked Sendable {
    public enum Fault: String, CaseIterable, Codable, Sendable { case kill, pause, partition }
    public enum Target: String, CaseIterable, Codable, Sendable { case leader, follower, random }

    public struct Options: Sendable {
        public var rounds = 10
        public var fault = Fault.kill
        public var target = Target.leader
        /// How long each fault lasts before the node is restarted / resumed / reconnected.
        public var faultSeconds = 3.0
        /// Time after healing, before the next round, for the node to catch up.
        public var settleSeconds = 2.0
        /// A shard must acknowledge a write within this long after every fault.
        public var maxRecoverySeconds = 2.0
        public var registers = 4
        public var writers = 3
        public var readers = 3
        public var signUpWorkers = 2
        public var signInWorkers = 1
        /// Pause between one worker's operations.
        public var pace = 0.02
        public var requestTimeout = 8.0
        public var seed: UInt64 = UInt64(Date().timeIntervalSince1970)
        public init() {}
    }

    public struct Round: Codable, Sendable {
        public var round: Int
        public var fault: Fault
        public var target: UInt64
        /// Shards the target led when the fault began.
        public var ledShards: [UInt32]
        public var faultAt: Double
        public var healAt: Double
        /// Per user shard: seconds from the fault to the first acknowledged probe started after it.
        public var recovery: [String: Double] = [:]
        /// The slowest shard's recovery (nil: some shard never acknowledged a write).
        public var recoverySeconds: Double?
        /// Leaders of the shards the target led, once the fault was on (before healing).
        public var newLeaders: [String: UInt64] = [:]
        /// First to last failed client operation that ended between this fault and the next.
        public var errorWindowSeconds: Double = 0
        public var failedOperations: Int = 0
        /// The longest client operation that ended in this round (failover shows as latency
        /// when the front retries on the new leader within its deadline).
        public var slowestOperationSeconds: Double = 0
        /// What the round did, where it is more than the fault (the replacement drill).
        public var note: String?
    }

    public struct Report: Codable, Sendable {
        public var fault: Fault
        public var target: Target
        public var rounds: [Round]
        public var seconds: Double
        public var operations: [String: Int]
        public var errors: [String: Int]
        public var acknowledgedSignUps: Int
        public var unknownSignUps: Int
        public var missingSignUps: [String]
        public var registerOperations: Int
        public var lostUpdates: [String]
        public var violations: [String]
        public var signInsRefused: Int
        public var slowRounds: [Int]
        public var failures: [String]
        /// The replacement drill: per user shard, seconds from the kill until the new node
        /// was a voter (the time it ran with fewer than three live replicas).
        public var underReplicatedSeconds: [String: Double]?
        /// The replacement drill: each membership step, with the drill's clock.
        public var steps: [String]?
        public var passed: Bool { failures.isEmpty }
    }

    /// What happened to one client operation, for the timeline.
    struct Outcome: Sendable {
        var start: Double
        var end: Double
        var ok: Bool
        var type: String
    }

    let launcher: ClusterLauncher
    let endpoint: String
    let options: Options
    let network: PartitionNetwork?
    let client: CognitoHTTPClient
    let nodes: NodeClient
    let started = ContinuousClock.now

    let lock = NSLock()
    var running = true
    var history: [RegisterOperation] = []
    var acknowledged: [String] = []
    var unknownSignUps = 0
    var refused = 0
    var outcomes: [Outcome] = []
    var counts: [String: Int] = [:]
    var errors: [String: Int] = [:]
    var probes: [UInt32: [(invoke: Double, complete: Double)]] = [:]
    var probesInFlight = 0

    public init(
        launcher: ClusterLauncher, endpoint: String, accessKey: String, secretKey: String, region: String,
        options: Options, network: PartitionNetwork?
    ) throws {
        self.launcher = launcher
        self.endpoint = endpoint
        self.options = options
        self.network = network
        client = try CognitoHTTPClient(
            endpoint: endpoint, region: region, accessKey: accessKey, secretKey: secretKey,
            timeout: options.requestTimeout)
        nodes = try NodeClient(config: launcher.config)
    }

    func now() -> Double {
        let d = ContinuousClock.now - started
        return Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
    }

    var isRunning: Bool { lock.withLock { running } }

    /// Client operations per 250 ms (succeeded / failed), for the SVG timeline.
    public func timeline() -> [(t: Double, ok: Int, failed: Int)] {
        let all = lock.withLock { outcomes }
        guard let last = all.map(\.end).max() else { return [] }
        var buckets = [(t: Double, ok: Int, failed: Int)]((0...Int(last / 0.25)).map { (Double($0) * 0.25, 0, 0) })
        for o in all {
            let i = Int(o.end / 0.25)
            if o.ok { buckets[i].ok += 1 } else { buckets[i].failed += 1 }
        }
        return buckets
    }

    public func registerHistory() -> [RegisterOperation] { lock.withLock { history } }

    public func close() async { await nodes.close() }
}

public struct DrillError: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}
