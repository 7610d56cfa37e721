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

    @Test("the local inbox may run only on loopback addresses with no channel configured")
    func devInboxOnlyLocal() throws {
        let local = try ClusterConfig.parse(ClusterConfig.embeddedLocal)
        let front = try HostPort("127.0.0.1:9229")
        #expect(local.devInboxRefusal(frontListen: front, environment: [:]) == nil)
        #expect(local.devInboxRefusal(frontListen: try HostPort("0.0.0.0:9229"), environment: [:]) != nil)
        #expect(local.devInboxRefusal(frontListen: try HostPort("10.0.0.5:9229"), environment: [:]) != nil)
        let smtp = local.devInboxRefusal(frontListen: front, environment: ["COGNATE_SMTP_URL": "smtp://127.0.0.1:25"])
        #expect(smtp?.contains("email (SMTP)") == true)
        #expect(local.devInboxRefusal(frontListen: front, environment: ["COGNATE_SMS_WEBHOOK_URL": "http://x/"]) != nil)
        #expect(local.devInboxRefusal(frontListen: front, environment: ["COGNATE_SMTP_URL": ""]) == nil)
        var remote = local
        remote.nodes[2].peer = "192.168.1.3:7103"
        #expect(remote.devInboxRefusal(frontListen: front, environment: [:])?.contains("node 3's peer address") == true)
        var published = local
        published.public_url = "https://auth.example.com"
        #expect(published.devInboxRefusal(frontListen: front, environment: [:])?.contains("public_url") == true)
        for host in ["127.0.0.1", "127.1.2.3", "localhost", "[::1]", "::1", "LOCALHOST"] {
            #expect(Loopback.isLoopback(host: host), "\(host)")
        }
        for host in ["127.0.0.1.evil.example", "128.0.0.1", "0.0.0.0", "example.com", "127.0.0.256", ""] {
            #expect(!Loopback.isLoopback(host: host), "\(host)")
        }
        #expect(Loopback.host(ofAuthority: "127.0.0.1:9229") == "127.0.0.1")
        #expect(Loopback.host(ofAuthority: "[::1]:9229") == "[::1]")
    }
}
