import ArgumentParser
import Foundation
import NodeRPC

/// `cognate probe --file F`: a liveness probe that a flood of connections cannot block. A
/// node touches `<data>/alive` about once a second, a front the file `--alive-file` names;
/// this exits 0 while the file is fresh, 1 otherwise (and says how old it is).
struct ProbeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "probe",
        abstract: "Exit 0 if a node's or front's alive file was touched recently (a liveness probe).")

    @Option(help: "The alive file: <data>/alive for a node, a front's --alive-file.")
    var file: String

    @Option(help: "The most seconds since the file was touched.")
    var maxAge: Double = 30

    func run() throws {
        guard let age = AliveFile(path: file).age() else {
            print("cognate probe: \(file) does not exist")
            throw ExitCode(1)
        }
        guard age <= maxAge else {
            print("cognate probe: \(file) was last touched \(Int(age)) s ago (at most \(Int(maxAge)) s)")
            throw ExitCode(1)
        }
    }
}
