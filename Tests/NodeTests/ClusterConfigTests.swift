import Foundation
import NodeRPC
import Testing

@Suite("Cluster definitions")
struct ClusterConfigTests {
    static let repoRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    @Test("the definition built into the binary is Cluster/local.toml, byte for byte")
    func embeddedMatchesFile() throws {
        let file = try String(contentsOf: Self.repoRoot.appendingPathComponent(ClusterConfig.defaultPath), encoding: .utf8)
        #expect(ClusterConfig.embeddedLocal == file)
        let config = try ClusterConfig.parse(ClusterConfig.embeddedLocal)
        #expect(config.nodes.map(\.id) == [1, 2, 3])
        #expect(config.front == "127.0.0.1:9229")
    }

    @Test("nodes that join later take no part in the founding placement, and are kept when written back")
    func joiningNodes() throws {
        var text = "shards = 3\nreplication = 3\n[tls]\ndir = \"t\"\n"
        for id in 1...5 {
            text += "[[nodes]]\nid = \(id)\npeer = \"127.0.0.1:71\(id)\"\nadmin = \"127.0.0.1:72\(id)\"\ndata = \"d\(id)\"\n"
            if id > 3 { text += "join = true\n" }
        }
        let config = try ClusterConfig.parse(text)
        #expect(config.placement.nodes == [1, 2, 3])
        #expect(config.placement.shards(on: 4).isEmpty && config.placement.replicas(of: 0) == [1, 2, 3])
        #expect(try ClusterConfig.parse(config.renderTOML()).nodes == config.nodes)
        // Replication counts only the founding nodes.
        #expect(throws: ClusterConfig.Invalid.self) {
            try ClusterConfig.parse(text.replacingOccurrences(of: "replication = 3", with: "replication = 4"))
        }
    }
}
