import Foundation
import NodeRPC

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// The child processes: started with their logs, signalled, stopped, and (with
/// `supervise`) restarted with backoff when one exits unexpectedly, saying which and why.
extension ClusterLauncher {
    /// A child that exits this soon after starting counts as failing to start.
    static var quickExitSeconds: Double { 30 }
    /// Restarts of a child failing to start before supervision gives up and stops everything.
    static var maxQuickFailures: Int { 5 }

    /// Children's ids: nodes by their id, fronts from 1000.
    static func frontChild(_ index: Int) -> UInt64 { UInt64(1000 + index) }

    func describe(_ child: UInt64) -> String { child >= 1000 ? "front \(child - 999)" : "node \(child)" }

    func logPath(child: UInt64) -> String {
        child >= 1000 ? "\(logDirectory)/front\(child - 999).log" : logPath(node: child)
    }

    public func start(node: UInt64) throws {
        try launch(
            child: node,
            command: nodePrefix(node) + [executable, "node", "--config", configPath, "--id", "\(node)"]
                + (devInbox ? ["--dev-inbox"] : []))
    }

    /// Starts a `cognate front` child (its log is `front<index + 1>.log`).
    public func startFront(index: Int, address: HostPort) throws {
        try launch(
            child: Self.frontChild(index),
            command: [executable, "front", "--config", configPath, "--listen", address.description]
                + (devInbox ? ["--dev-inbox"] : []))
    }

    private func launch(child: UInt64, command: [String]) throws {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: command[0])
        p.arguments = Array(command.dropFirst())
        let path = logPath(child: child)
        if !FileManager.default.fileExists(atPath: path) { try PrivateFiles.write([], to: path) }
        let log = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        log.seekToEndOfFile()
        p.standardError = log
        if echoCodes {
            // Standard output through a pipe: every line to the log, the inbox's lines to the
            // console too.
            let pipe = Pipe()
            let lines = LineEcho(log: log, prefix: "cognate: code ")
            pipe.fileHandleForReading.readabilityHandler = { handle in lines.take(handle.availableData) }
            p.standardOutput = pipe
        } else {
            p.standardOutput = log
        }
        p.terminationHandler = { [weak self] proc in self?.exited(child, proc, command: command) }
        try p.run()
        lock.withLock {
            children[child] = p
            startedAt[child] = Date()
        }
    }

    /// A child ended: expected (stopping, signalled by us) or not; if not, say which and why,
    /// and with `supervise` restart it after a backoff, or give up when it keeps failing.
    private func exited(_ child: UInt64, _ proc: Process, command: [String]) {
        let (expected, lived) = lock.withLock { () -> (Bool, Double) in
            let expected = stopping || children[child] !== proc || expectedExits.contains(proc.processIdentifier)
            return (expected, Date().timeIntervalSince(startedAt[child] ?? .distantPast))
        }
        guard !expected else { return }
        let how =
            proc.terminationReason == .uncaughtSignal
            ? "was killed by signal \(proc.terminationStatus)" : "exited with status \(proc.terminationStatus)"
        var message = "cognate: \(describe(child)) \(how)"
        if let line = Self.lastLines(of: logPath(child: child), count: 1).first { message += ": \(line)" }
        message += " (log: \(logPath(child: child)))"
        FileHandle.standardError.write(Data((message + "\n").utf8))
        guard supervise else { return }
        let failures = lock.withLock { () -> Int in
            let n = lived < Self.quickExitSeconds ? (quickFailures[child] ?? 0) + 1 : 1
            quickFailures[child] = n
            return n
        }
        guard failures < Self.maxQuickFailures else {
            onGiveUp?("\(describe(child)) failed \(failures) times in a row soon after starting; last: \(message)")
            return
        }
        let delay = min(30.0, pow(2.0, Double(failures - 1)))
        FileHandle.standardError.write(Data("cognate: restarting \(describe(child)) in \(Int(delay)) s\n".utf8))
        DispatchQueue.global().asyncAfter(deadline: .now() + delay) { [weak self] in
            guard let self, !self.lock.withLock({ self.stopping }) else { return }
            do {
                try self.launch(child: child, command: command)
            } catch {
                self.onGiveUp?("could not restart \(self.describe(child)): \(error)")
            }
        }
    }

    /// The last `count` non-empty lines of a log (read from its last 16 KiB).
    static func lastLines(of path: String, count: Int) -> [String] {
        guard let handle = FileHandle(forReadingAtPath: path) else { return [] }
        defer { try? handle.close() }
        let size = (try? handle.seekToEnd()) ?? 0
        try? handle.seek(toOffset: size > 16_384 ? size - 16_384 : 0)
        let text = String(decoding: handle.readDataToEndOfFile(), as: UTF8.self)
        return Array(text.split(separator: "\n").map(String.init).filter { !$0.isEmpty }.suffix(count))
    }

    /// The process id of a running node child (nil when not running).
    public func pid(node: UInt64) -> Int32? {
        lock.withLock {
            guard let p = children[node], p.isRunning else { return nil }
            return p.processIdentifier
        }
    }

    /// Sends `signal` to a node child; with SIGKILL or SIGTERM, waits until it has exited.
    public func signal(node: UInt64, _ signal: Int32) {
        guard let p = lock.withLock({ children[node] }), p.isRunning else { return }
        let ending = signal == SIGKILL || signal == SIGTERM
        if ending { lock.withLock { _ = expectedExits.insert(p.processIdentifier) } }
        kill(p.processIdentifier, signal)
        if ending { p.waitUntilExit() }
    }

    public func startAll() throws {
        for n in config.nodes { try start(node: n.id) }
    }

    /// Waits until `GET /health` answers on every address.
    public func waitForFronts(_ addresses: [HostPort], timeout: Duration = .seconds(60)) async throws {
        let deadline = ContinuousClock.now + timeout
        for a in addresses {
            while true {
                if let url = URL(string: "http://\(a)/health"),
                    let (_, r) = try? await URLSession.shared.data(from: url),
                    (r as? HTTPURLResponse)?.statusCode == 200
                {
                    break
                }
                guard ContinuousClock.now < deadline else {
                    throw ClusterConfig.Invalid(
                        description:
                            "the front on \(a) did not answer /health within \(timeout); see \(logDirectory)/front*.log"
                    )
                }
                try await Task.sleep(for: .milliseconds(200))
            }
        }
    }

    /// SIGTERM to every child, then wait for them.
    public func stopAll() {
        let all = lock.withLock { () -> [Process] in
            stopping = true
            return Array(children.values)
        }
        for p in all where p.isRunning {
            kill(p.processIdentifier, SIGCONT)  // a paused child could not act on SIGTERM
            p.terminate()
        }
        for p in all { p.waitUntilExit() }
    }
}

/// Renders node statuses as the per-shard table `cognate status` prints.
public enum StatusTable {
    public static func render(_ statuses: [NodeStatus]) -> String {
        var rows: [[String]] = [["shard", "node", "role", "term", "leader", "commit", "applied", "lag", "members"]]
        let shards = Set(statuses.flatMap { $0.shards.map(\.shard) }).sorted()
        for shard in shards {
            let replicas = statuses.compactMap { s in s.shards.first { $0.shard == shard }.map { (s.node, $0) } }
            let top = replicas.map(\.1.commit).max() ?? 0
            for (node, r) in replicas.sorted(by: { $0.0 < $1.0 }) {
                rows.append([
                    "\(shard)", "\(node)", r.role, "\(r.term)", r.leader == 0 ? "-" : "\(r.leader)", "\(r.commit)",
                    "\(r.applied)", "\(top - r.applied)",
                    (r.voters.map(String.init) + (r.learners ?? []).map { "\($0)(learner)" }).joined(separator: ","),
                ])
            }
        }
        let widths = (0..<rows[0].count).map { c in rows.map { $0[c].count }.max()! }
        return rows.map { row in
            row.enumerated().map { $0.element.padding(toLength: widths[$0.offset], withPad: " ", startingAt: 0) }
                .joined(separator: "  ")
        }.joined(separator: "\n")
    }
}

/// Writes what a child prints to its log, and the lines that start with `prefix` to this
/// process's standard output.
///
/// `@unchecked Sendable`: `pending` is touched only under `lock`.
final class LineEcho: @unchecked Sendable {
    let log: FileHandle
    let prefix: [UInt8]
    private let lock = NSLock()
    private var pending: [UInt8] = []

    init(log: FileHandle, prefix: String) {
        self.log = log
        self.prefix = Array(prefix.utf8)
    }

    func take(_ data: Data) {
        guard !data.isEmpty else { return }
        log.write(data)
        let lines = lock.withLock { () -> [[UInt8]] in
            pending += data
            var out: [[UInt8]] = []
            while let nl = pending.firstIndex(of: UInt8(ascii: "\n")) {
                out.append(Array(pending[...nl]))
                pending.removeSubrange(...nl)
            }
            // A line that never ends is not echoed; keep the buffer small.
            if pending.count > 4_096 { pending.removeAll() }
            return out
        }
        for line in lines where line.starts(with: prefix) { FileHandle.standardOutput.write(Data(line)) }
    }
}
