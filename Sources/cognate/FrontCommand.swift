import ArgumentParser
import AuthCrypto
import Foundation
import Front
import Hummingbird
import HummingbirdCore
import Logging
import Metrics
import NIOPosix
import NodeRPC
import Prometheus

/// `cognate front --config FILE`: the Cognito-compatible API.
struct FrontCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "front",
        abstract: "Run the Cognito-compatible API front (default 127.0.0.1:9229).",
        discussion: """
            Serves POST / (X-Amz-Target: AWSCognitoIdentityProviderService.<Operation>, JSON 1.1), \
            GET /health and GET /metrics. Admin operations need AWS SigV4 with a key from the \
            definition's admin_keys or COGNATE_ADMIN_KEYS (id:secret,id:secret). SIGTERM or \
            SIGINT stops it.
            """
    )

    @Option(help: "Cluster definition (TOML).")
    var config: String = "Cluster/local.toml"

    @Option(help: "Listen address (default: the definition's `front`, else 127.0.0.1:9229).")
    var listen: String?

    @Option(help: "Log level.")
    var logLevel: String = "info"

    @Option(help: "A file to touch every second while the front runs (for `cognate probe --file`).")
    var aliveFile: String?

    @Flag(
        help: ArgumentHelp(
            "Serve the local inbox at /_cognate/inbox (what `cluster up` passes).",
            discussion:
                "Refused unless every address of the definition and --listen is loopback and no email or SMS "
                + "channel is configured."))
    var devInbox = false

    func run() async throws {
        runTasksOnEventLoops()
        let cluster = try ClusterConfig.load(path: config)
        let registry = bootstrapObservability(logLevel: logLevel)
        let logger = Logger(label: "cognate.front")
        let address = try HostPort(listen ?? cluster.front ?? "127.0.0.1:9229", field: "--listen")
        let environment = ProcessInfo.processInfo.environment
        if devInbox, let why = cluster.devInboxRefusal(frontListen: address, environment: environment) {
            throw ValidationError("--dev-inbox: \(why)")
        }
        var keys = SigV4Verifier.parseKeys((cluster.admin_keys ?? []).joined(separator: ","))
        if let env = ProcessInfo.processInfo.environment["COGNATE_ADMIN_KEYS"] {
            keys.merge(SigV4Verifier.parseKeys(env)) { _, new in new }
        }
        if keys.isEmpty { logger.warning("no admin keys configured: every admin operation will be refused") }
        let source = try MasterKeySource(config: cluster)
        let client = try NodeClient(config: cluster, group: MultiThreadedEventLoopGroup.singleton, role: .front)
        let masterKeys = try source.load()
        let auth = AuthContext(
            masterKeys: masterKeys, publicURL: cluster.public_url ?? "http://\(address)", reload: { try? source.load() }
        )
        logger.info("master keys from \(source.origin): sealing with key \(masterKeys.current.id)")
        let region = cluster.region ?? "us-east-1"
        // Outbox messages are sealed for the nodes that deliver them; with the local inbox
        // (a laptop), which prints codes on the console, they are not.
        let sealer =
            devInbox
            ? nil
            : try DeliverySealer(
                publicKey: DeliveryBox.read(path: cluster.deliveryPublicKeyPath, what: "delivery public key"))
        let store = PoolStore(client: client, userShards: cluster.shards, outboxSealer: sealer)
        // The user shards may have grown since the definition was written (a reshard).
        Task { await store.loadLayout() }
        let api = API(store: store, region: region, auth: auth, lockoutBase: Int64(cluster.lockout_base_seconds ?? 1))
        // Every minute: import runs and uploads a stopped front left behind, and jobs never
        // started, are tended (failed, collected, expired).
        Task {
            while !Task.isCancelled {
                try? await Task.sleep(for: .seconds(60))
                await api.tendImportJobs()
            }
        }
        let verifier = SigV4Verifier(keys: keys, region: region)
        let server = FrontServer(
            api: api, verifier: verifier, registry: registry, logger: logger, devInbox: devInbox,
            hosts: FrontServer.Hosts(listen: address, publicURL: cluster.public_url),
            domainSuffix: cluster.domain_suffix ?? "localhost")
        // Bounded like every port: connections (more wait in the backlog), idle time, headers;
        // bodies are capped at FrontServer.maxBody.
        let app = Application(
            router: FrontResponder(server),
            server: .http1(
                configuration: .init(
                    idleTimeout: .seconds(60),
                    httpDecoderConfiguration: .init(
                        maxHeaderFieldSize: 16 << 10, maxHeaderListSize: 64 << 10, maxHeaderFieldCount: 100))),
            configuration: .init(
                address: .hostname(address.host, port: address.port), serverName: "cognate",
                availableConnectionsDelegate: MaximumAvailableConnections(4_096)),
            logger: logger)
        if let aliveFile {
            let alive = AliveFile(path: aliveFile)
            alive.touch()
            MultiThreadedEventLoopGroup.singleton.next().scheduleRepeatedTask(
                initialDelay: .seconds(1), delay: .seconds(1)
            ) { _ in alive.touch() }
        }
        logger.info("front serving the Cognito API on http://\(address)")
        try await app.runService()
        await client.close()
    }
}
