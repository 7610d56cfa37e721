import ArgumentParser
import AuthCrypto
import Foundation
import NodeRPC
import Ops

/// `cognate certs create`: the cluster's CA and its processes' certificates.
struct Certs: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Create the cluster's TLS certificate authority and certificates.",
        subcommands: [Create.self]
    )

    struct Create: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create the CA (if missing) and every missing certificate the definition names.",
            discussion: """
                Every connection between cluster processes is mutual TLS with certificates from \
                the cluster's own CA: a node's certificate names it (cognate://node/<id>), so no \
                process can speak as another node, and the front certificate (cognate://front/front) \
                may send client requests but never Raft traffic. Files go where the definition's \
                [tls] table says (dir, or ca / ca_key / front_cert / front_key and each node's \
                cert / key); keys are written 0600. Run it where the CA key is kept, then copy each \
                host its node's certificate and key, ca.pem, and (for fronts) front.pem and \
                front.key; the CA key (ca.key) never needs to leave that machine. `cluster up` runs \
                this itself on first start.
                """
        )

        @Option(help: "Cluster definition (TOML).")
        var config: String = "Cluster/local.toml"

        @Option(
            parsing: .upToNextOption,
            help: ArgumentHelp(
                "Only these nodes' certificates (default: every node's and the front's); a node the definition "
                    + "does not list gets node<ID>.pem / .key in the [tls] dir."))
        var node: [UInt64] = []

        @Flag(help: "Only the front certificate (with --node: those nodes' and the front's).")
        var front = false

        @Flag(help: "Issue the selected certificates again even if they exist (the CA is kept).")
        var replace = false

        func run() throws {
            var cluster = try ClusterConfig.load(path: config)
            for id in node where cluster.node(id) == nil {
                // A node added by `cluster add-node --peer --admin`: its files take the default
                // names in the [tls] directory.
                guard cluster.tls?.dir != nil else {
                    throw ValidationError("node \(id) is not in \(config), whose [tls] table has no `dir` to put it in")
                }
                cluster.nodes.append(.init(id: id, peer: "127.0.0.1:1", admin: "127.0.0.1:1", data: "", join: true))
            }
            let everything = node.isEmpty && !front
            let created = try ClusterCertificates.create(
                for: cluster, nodes: everything ? nil : node, front: everything || front, replace: replace)
            if created.files.isEmpty {
                print("cognate: every certificate \(config) names exists (--replace issues them again)")
            }
            for file in created.files { print("created \(file)") }
        }
    }
}

/// `cognate keys`: the cluster's master keys.
struct Keys: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Create or rotate the cluster's master keys.",
        discussion: """
            The master keys seal pool signing keys, sign-in challenges and refresh tokens. They \
            live in the definition's master_key_file (0600, one id:hex per line); every front of \
            a cluster reads the same file (or COGNATE_MASTER_KEY). There is no built-in key.
            """,
        subcommands: [Create.self, Rotate.self]
    )

    static func path(_ config: String) throws -> String {
        let cluster = try ClusterConfig.load(path: config)
        guard let path = cluster.master_key_file else {
            throw ValidationError("\(config) names no master_key_file")
        }
        return path
    }

    struct Create: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write a new master key file (refuses to replace one).")

        @Option(help: "Cluster definition (TOML).")
        var config: String = "Cluster/local.toml"

        func run() throws {
            let path = try Keys.path(config)
            guard !FileManager.default.fileExists(atPath: path) else {
                throw ValidationError("\(path) exists; `cognate keys rotate` adds a key to it")
            }
            var rng = SystemRandomNumberGenerator()
            try PrivateFiles.write(Array(MasterKeys.generate(using: &rng).render().utf8), to: path)
            print("created \(path) (master key 1)")
        }
    }

    struct Rotate: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Add a new master key that seals from now on; every earlier key still opens what it sealed.",
            discussion: """
                Fronts read the file again within 30 seconds, or at once when they meet a box \
                sealed with a key they do not hold yet, so no restart is needed. Copy the file to \
                every front's host. Earlier keys stay in the file: pools' signing keys remain \
                sealed with the key that was current when each pool was made.
                """
        )

        @Option(help: "Cluster definition (TOML).")
        var config: String = "Cluster/local.toml"

        func run() throws {
            let path = try Keys.path(config)
            guard let data = FileManager.default.contents(atPath: path) else {
                throw ValidationError("cannot read \(path); `cognate keys create` makes it")
            }
            let keys = try MasterKeys.parse(String(decoding: data, as: UTF8.self))
            var rng = SystemRandomNumberGenerator()
            let rotated = keys.rotated(using: &rng)
            try PrivateFiles.write(Array(rotated.render().utf8), to: path)
            print("\(path): added master key \(rotated.current.id); it seals from now on (\(rotated.keys.count) keys)")
        }
    }
}
