import ArgumentParser
import NIOCore
import NIOPosix

/// The `cognate` command: every process and tool of the project behind one binary.
@main
struct Cognate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cognate",
        abstract: "A self-hosted, replicated user pool that speaks the AWS Cognito User Pools API.",
        version: CognateVersion.string,
        subcommands: [
            Version.self, Cluster.self, Status.self, NodeCommand.self, FrontCommand.self, Certs.self, Keys.self,
            KVCommand.self, UsersCommand.self, BackupCommand.self, RestoreCommand.self,
            Bench.self, Drill.self, ProbeCommand.self, Debug.self,
        ]
    )
}

enum CognateVersion {
    static let string = "0.1.0"
}

struct Version: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Print the version of this build.")

    func run() {
        print("cognate \(CognateVersion.string)")
    }
}

/// Raised by commands whose feature has not been built yet, naming what is missing.
struct UnsupportedOperation: Error, CustomStringConvertible {
    var what: String
    var description: String { "UnsupportedOperationException: \(what) is not built yet" }
}

/// Runs Swift concurrency's jobs on NIO's shared event loops (one per core) instead of a
/// separate thread pool, so a request and the I/O it awaits stay on one thread. Called
/// first thing by the commands that serve or generate load; a process may call it once.
func runTasksOnEventLoops() {
    _ = NIOSingletons.unsafeTryInstallSingletonPosixEventLoopGroupAsConcurrencyGlobalExecutor()
}
