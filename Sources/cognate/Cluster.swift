import ArgumentParser

struct Cluster: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run a local cluster.",
        subcommands: [Up.self]
    )

    struct Up: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Start storage nodes and a front on 127.0.0.1 (not built yet)."
        )

        func run() throws {
            throw UnsupportedOperation(what: "`cognate cluster up` (needs the storage node and the front)")
        }
    }
}
