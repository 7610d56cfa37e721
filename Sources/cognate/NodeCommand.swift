import ArgumentParser
import Dispatch
import Foundation
import Logging
import Metrics
import Node
import Prometheus

/// `cognate node --config FILE --id ID`: one storage node, until SIGTERM or SIGINT.
struct NodeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "node",
        abstract: "Run one storage node of a cluster definition.",
        discussion: """
            Hosts the replicas the definition places on this node, listens for peers and clients \
            on its peer address and serves GET /status and GET /metrics on its admin address. \
            SIGTERM or SIGINT stops it after the current durable commit.
            """
    )

    @Option(help: "Cluster definition (TOML).")
    var config: String = "Cluster/local.toml"

    @Option(help: "This node's id in the definition.")
    var id: UInt64

    @Option(help: "Data directory (default: the node's `data` in the definition).")
    var data: String?

    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel: String = "info"

    func run() async throws {
        let cluster = try ClusterConfig.load(path: config)
        let registry = bootstrapObservability(logLevel: logLevel)
        let logger = Logger(label: "cognate.node.\(id)")
        let server = try NodeServer(
            config: cluster, nodeId: id, stateMachine: CognateStateMachine(), registry: registry, logger: logger, dataDirectory: data)
        try await server.start()
        await waitForTermination()
        logger.info("stopping node \(id)")
        await server.shutdown()
        logger.info("node \(id) stopped")
    }
}

/// Returns on the first SIGTERM or SIGINT.
func waitForTermination() async {
    signal(SIGTERM, SIG_IGN)
    signal(SIGINT, SIG_IGN)
    await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
        let once = OnceFlag()
        for sig in [SIGTERM, SIGINT] {
            let source = DispatchSource.makeSignalSource(signal: sig, queue: .global())
            source.setEventHandler {
                if once.claim() { continuation.resume() }
            }
            source.resume()
            SignalSources.keep(source)
        }
    }
}

/// Keeps signal sources alive for the life of the process.
enum SignalSources {
    nonisolated(unsafe) static var sources: [DispatchSourceSignal] = []
    static func keep(_ s: DispatchSourceSignal) { sources.append(s) }
}

final class OnceFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var done = false
    func claim() -> Bool {
        lock.lock()
        defer { lock.unlock() }
        if done { return false }
        done = true
        return true
    }
}

/// Logs to standard error at `logLevel`; metrics into a Prometheus registry, returned for
/// the process's `/metrics`.
func bootstrapObservability(logLevel: String) -> PrometheusCollectorRegistry {
    let level = Logger.Level(rawValue: logLevel) ?? .info
    LoggingSystem.bootstrap { label in
        var h = StreamLogHandler.standardError(label: label)
        h.logLevel = level
        return h
    }
    let registry = PrometheusCollectorRegistry()
    MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))
    return registry
}
