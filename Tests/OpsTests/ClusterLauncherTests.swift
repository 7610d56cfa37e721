import Foundation
import NodeRPC
@testable import Ops
import Testing

@Suite("cluster up --nodes")
struct ClusterLauncherTests {
    /// A fresh directory under the system's temporary one.
    static func scratch() throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("cognate-launcher-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    static func definition(in dir: String, _ text: String = ClusterConfig.embeddedLocal) throws -> String {
        let path = "\(dir)/def.toml"
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    @Test("--nodes 5 on the three-node loopback definition adds nodes 4 and 5 on the next ports, shards unchanged")
    func extendsLoopbackDefinition() throws {
        let dir = try Self.scratch()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let launcher = try ClusterLauncher(configPath: try Self.definition(in: dir), data: "\(dir)/data", nodes: 5, executable: "/bin/true")
        let nodes = launcher.config.nodes
        #expect(nodes.map(\.id) == [1, 2, 3, 4, 5])
        #expect(nodes.map(\.peer) == (7101...7105).map { "127.0.0.1:\($0)" })
        #expect(nodes.map(\.admin) == (7201...7205).map { "127.0.0.1:\($0)" })
        #expect(nodes.map(\.data) == (1...5).map { "\(dir)/data/node\($0)" })
        #expect(launcher.config.shards == 3)
        #expect(launcher.config.replication == 3)
        // The definition written for the children parses back to the same nodes.
        let written = try ClusterConfig.load(path: launcher.configPath)
        #expect(written.nodes == nodes)
    }

    @Test("--nodes 2 keeps the first two nodes and lowers replication to 2")
    func keepsPrefix() throws {
        let dir = try Self.scratch()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let launcher = try ClusterLauncher(configPath: try Self.definition(in: dir), data: "\(dir)/data", nodes: 2, executable: "/bin/true")
        #expect(launcher.config.nodes.map(\.id) == [1, 2])
        #expect(launcher.config.replication == 2)
    }

    @Test("--nodes past a definition of other hosts, past the limit, or below 1 is refused with the reason")
    func refusesWhatCannotBeExtended() throws {
        let dir = try Self.scratch()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let remote = ClusterConfig.embeddedLocal.replacingOccurrences(of: "127.0.0.1:7103", with: "10.0.0.3:7103")
        let remotePath = try Self.definition(in: dir, remote)
        let e = #expect(throws: ClusterConfig.Invalid.self) {
            _ = try ClusterLauncher(configPath: remotePath, data: "\(dir)/data", nodes: 4, executable: "/bin/true")
        }
        #expect(e?.description.contains("not all on 127.0.0.1") == true)
        let local = try Self.definition(in: dir)
        #expect(throws: ClusterConfig.Invalid.self) {
            _ = try ClusterLauncher(configPath: local, data: "\(dir)/data", nodes: ClusterLauncher.maxNodes + 1, executable: "/bin/true")
        }
        #expect(throws: ClusterConfig.Invalid.self) {
            _ = try ClusterLauncher(configPath: local, data: "\(dir)/data", nodes: 0, executable: "/bin/true")
        }
        // Added ports that would land on the front's address are refused, not shared.
        let crowded = ClusterConfig.embeddedLocal.replacingOccurrences(of: "front = \"127.0.0.1:9229\"", with: "front = \"127.0.0.1:7105\"")
        let c = #expect(throws: ClusterConfig.Invalid.self) {
            _ = try ClusterLauncher(configPath: try Self.definition(in: dir, crowded), data: "\(dir)/data", nodes: 5, executable: "/bin/true")
        }
        #expect(c?.description.contains("127.0.0.1:7105") == true)
    }

    @Test("adding nodes to a data directory that holds a smaller cluster is refused; the same size starts")
    func refusesGrowingExistingData() throws {
        let dir = try Self.scratch()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let definition = try Self.definition(in: dir)
        for id in 1...3 {
            try FileManager.default.createDirectory(atPath: "\(dir)/data/node\(id)", withIntermediateDirectories: true)
            #expect(FileManager.default.createFile(atPath: "\(dir)/data/node\(id)/data.mdb", contents: Data([0])))
        }
        let e = #expect(throws: ClusterConfig.Invalid.self) {
            _ = try ClusterLauncher(configPath: definition, data: "\(dir)/data", nodes: 4, executable: "/bin/true")
        }
        #expect(e?.description.contains("join = true") == true)
        #expect(e?.description.contains("none of node 4") == true)
        _ = try ClusterLauncher(configPath: definition, data: "\(dir)/data", nodes: 3, executable: "/bin/true")
        try FileManager.default.createDirectory(atPath: "\(dir)/data/node4", withIntermediateDirectories: true)
        #expect(FileManager.default.createFile(atPath: "\(dir)/data/node4/data.mdb", contents: Data([0])))
        // Every node of the larger cluster has its data: a restart of it, not a change.
        _ = try ClusterLauncher(configPath: definition, data: "\(dir)/data", nodes: 4, executable: "/bin/true")
    }
}
