import Foundation

/// The network the partition drill builds: one network namespace per node, each joined to
/// a bridge in the host namespace by a veth pair. Node N answers on 10.77.0.N; the bridge
/// (and so the front, which runs on the host) is 10.77.0.254. Cutting a node off is taking
/// its host-side veth down; healing is bringing it up.
///
/// The same steps by hand are in Cluster/README.md ("Partition drill network").
public struct PartitionNetwork: Sendable {
    public let nodes: [UInt64]
    public static let bridge = "cognate-br0"
    public static let subnet = "10.77.0"

    public init(nodes: [UInt64]) { self.nodes = nodes }

    public static func namespace(_ node: UInt64) -> String { "cognate-n\(node)" }
    static func hostSide(_ node: UInt64) -> String { "cg\(node)h" }
    static func nodeSide(_ node: UInt64) -> String { "cg\(node)n" }
    public static func address(_ node: UInt64) -> String { "\(subnet).\(node)" }

    public struct Failure: Error, CustomStringConvertible {
        public var description: String
    }

    /// Why namespaces cannot be used here, or nil when they can (root, `ip`, a probe
    /// namespace and veth pair can be created).
    public static func unavailableReason() -> String? {
        guard geteuid() == 0 else { return "network namespaces need root (running as uid \(geteuid()))" }
        guard ipPath != nil else { return "the `ip` command (iproute2) is not installed" }
        let probe = "cognate-probe"
        defer {
            _ = try? run(["link", "del", "cgprobeh"])
            _ = try? run(["netns", "del", probe])
        }
        do {
            try run(["netns", "add", probe])
            try run(["link", "add", "cgprobeh", "type", "veth", "peer", "name", "cgproben"])
        } catch {
            return "could not create a network namespace and veth pair: \(error)"
        }
        return nil
    }

    static let ipPath: String? = ["/usr/sbin/ip", "/sbin/ip", "/usr/bin/ip", "/bin/ip"].first {
        FileManager.default.isExecutableFile(atPath: $0)
    }

    /// `ip ARGS`, throwing with its error output when it fails.
    @discardableResult
    static func run(_ arguments: [String]) throws -> String {
        guard let ip = ipPath else { throw Failure(description: "no `ip` command") }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: ip)
        p.arguments = arguments
        let out = Pipe()
        p.standardOutput = out
        p.standardError = out
        try p.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        let text = String(decoding: data, as: UTF8.self)
        guard p.terminationStatus == 0 else {
            throw Failure(
                description:
                    "ip \(arguments.joined(separator: " ")): \(text.trimmingCharacters(in: .whitespacesAndNewlines))")
        }
        return text
    }

    /// Builds the bridge, namespaces and links, removing leftovers of an earlier run first;
    /// refuses while processes still run in them (another partition drill on this machine,
    /// whose network this would tear down under it).
    public func setUp() throws {
        for n in nodes {
            let pids = ((try? Self.run(["netns", "pids", Self.namespace(n)])) ?? "")
                .split(whereSeparator: \.isWhitespace).joined(separator: ", ")
            if !pids.isEmpty {
                throw Failure(
                    description:
                        "network namespace \(Self.namespace(n)) is in use (pids \(pids)): another partition drill is "
                        + "running on this machine; "
                        + "wait for it to finish, or stop those processes")
            }
        }
        tearDown()
        try Self.run(["link", "add", Self.bridge, "type", "bridge"])
        try Self.run(["addr", "add", "\(Self.subnet).254/24", "dev", Self.bridge])
        try Self.run(["link", "set", Self.bridge, "up"])
        for n in nodes {
            let ns = Self.namespace(n)
            try Self.run(["netns", "add", ns])
            try Self.run(["link", "add", Self.hostSide(n), "type", "veth", "peer", "name", Self.nodeSide(n)])
            try Self.run(["link", "set", Self.nodeSide(n), "netns", ns])
            try Self.run(["link", "set", Self.hostSide(n), "master", Self.bridge])
            try Self.run(["link", "set", Self.hostSide(n), "up"])
            try Self.run(["-n", ns, "link", "set", "lo", "up"])
            try Self.run(["-n", ns, "addr", "add", "\(Self.address(n))/24", "dev", Self.nodeSide(n)])
            try Self.run(["-n", ns, "link", "set", Self.nodeSide(n), "up"])
        }
    }

    /// Cuts `node` off from every other node and from the front.
    public func isolate(_ node: UInt64) throws { try Self.run(["link", "set", Self.hostSide(node), "down"]) }

    public func heal(_ node: UInt64) throws { try Self.run(["link", "set", Self.hostSide(node), "up"]) }

    /// Removes everything `setUp` made; missing pieces are ignored.
    public func tearDown() {
        for n in nodes {
            _ = try? Self.run(["link", "del", Self.hostSide(n)])
            _ = try? Self.run(["netns", "del", Self.namespace(n)])
        }
        _ = try? Self.run(["link", "del", Self.bridge])
    }

    /// The command that runs a node inside its namespace.
    public func prefix(_ node: UInt64) -> [String] { [Self.ipPath ?? "ip", "netns", "exec", Self.namespace(node)] }
}
