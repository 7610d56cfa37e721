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
}
