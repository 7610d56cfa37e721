import AuthCrypto
import CognitoModel
import Foundation
import Logging
import Metrics
import NIOConcurrencyHelpers
import NIOCore
import UserPool

/// What the deliverer needs of the node it runs in: which shards it leads, a read of its
/// own replica, and a proposal (the node runtime, in production).
public protocol OutboxHost: Sendable {
    func ledShards() async -> [UInt32]
    func read(shard: UInt32, _ request: [UInt8]) async throws -> [UInt8]
    func propose(shard: UInt32, _ command: [UInt8]) async throws -> [UInt8]
}

/// The channels messages leave by; a medium with none goes to the local inbox when the
/// definition enables it, else fails (counted and logged).
public struct Channels: Sendable {
    public var smtp: SMTPServer?
    public var sms: SMSWebhook?
    public var devInbox: Bool
    /// The sender for pools that name none (Cognito's default sender address).
    public var defaultFrom: String
    /// Opens messages fronts sealed for the deliverers (nil: none can be opened here).
    public var opener: DeliveryOpener?

    public init(
        smtp: SMTPServer?, sms: SMSWebhook?, devInbox: Bool, defaultFrom: String?, opener: DeliveryOpener? = nil
    ) {
        self.smtp = smtp
        self.sms = sms
        self.devInbox = devInbox
        self.defaultFrom = defaultFrom ?? "no-reply@verificationemail.com"
        self.opener = opener
    }
}

/// Delivers the outbox of every user shard this node leads, at least once: it reads the
/// waiting messages, sends them, and proposes `outboxDone` for those delivered or failed
/// for good. A message stays in the outbox (replicated) until then, so a leader change
/// mid-delivery loses nothing: the next leader sends what is still there, under the same
/// Message-ID. Transient failures are retried with backoff (1 s doubling to 5 min, up to
/// `maxAttempts`); the attempt counts live in the leader's memory only.
public final class OutboxDeliverer: Sendable {
    let host: any OutboxHost
    let channels: Channels
    let smtpClient: SMTPClient
    let logger: Logger
    /// Messages sent at once per pass.
    static let concurrency = 8
    static let batch = 64
    public static let maxAttempts = 12

    struct Attempts {
        var count = 0
        var nextAt = 0.0
    }

    private struct State {
        var attempts: [String: Attempts] = [:]
        var wake: CheckedContinuation<Void, Never>?
        var woken = false
    }

    private let state = NIOLockedValueBox(State())
    let delivered: Counter
    let failed: Counter
    let retried: Counter
    /// Messages waiting in the outboxes of the shards this node leads, as of the last pass
    /// (each shard's counted up to `batch`).
    let depth: Gauge

    public init(host: any OutboxHost, channels: Channels, group: any EventLoopGroup, logger: Logger) {
        self.host = host
        self.channels = channels
        smtpClient = SMTPClient(group: group)
        self.logger = logger
        delivered = Counter(label: "cognate_messages_delivered_total")
        failed = Counter(label: "cognate_messages_failed_total")
        retried = Counter(label: "cognate_message_retries_total")
        depth = Gauge(label: "cognate_outbox_messages")
    }

    /// Called when messages entered an outbox on this node: look again at once.
    public func wake() {
        let w = state.withLockedValue { s -> CheckedContinuation<Void, Never>? in
            s.woken = true
            defer { s.wake = nil }
            return s.wake
        }
        w?.resume()
    }

    /// Runs until the task is cancelled.
    public func run() async {
        while !Task.isCancelled {
            await pass()
            await sleep(upTo: .milliseconds(250))
        }
    }

    private func sleep(upTo limit: Duration) async {
        let timer = Task { [weak self] in
            try? await Task.sleep(for: limit)
            self?.wake()
        }
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            let now = state.withLockedValue { s -> Bool in
                if s.woken {
                    s.woken = false
                    return true
                }
                s.wake = c
                return false
            }
            if now { c.resume() }
        }
        state.withLockedValue { $0.woken = false }
        timer.cancel()
    }

    /// One look at every led user shard's outbox.
    func pass() async {
        var waiting = 0
        defer { depth.record(waiting) }
        for shard in await host.ledShards() where shard != 0 {
            let entries: [OutboxEntry]
            do {
                let bytes = try await host.read(shard: shard, UserPoolQuery.outbox(limit: Self.batch).encoded)
                guard case .messages(let m) = try UserPoolReply.decode(bytes) else { continue }
                entries = m
                waiting += m.count
            } catch {
                logger.debug("shard \(shard): reading the outbox: \(error)")
                continue
            }
            let now = Date().timeIntervalSince1970
            let due = state.withLockedValue { s in entries.filter { (s.attempts[$0.id]?.nextAt ?? 0) <= now } }
            guard !due.isEmpty else { continue }
            await deliver(due, shard: shard)
        }
        // Forget attempts of messages no longer waiting anywhere this node leads (bounded).
        state.withLockedValue { s in
            if s.attempts.count > 10_000 { s.attempts.removeAll() }
        }
    }

    enum Outcome: Sendable {
        case delivered(toInbox: Bool)
        case failed
        case later
    }

    func deliver(_ entries: [OutboxEntry], shard: UInt32) async {
        var outcomes: [(String, Outcome)] = []
        await withTaskGroup(of: (String, Outcome).self) { group in
            var next = entries.makeIterator()
            func start() {
                guard let e = next.next() else { return }
                group.addTask { (e.id, await self.attempt(e)) }
            }
            for _ in 0..<Self.concurrency { start() }
            while let result = await group.next() {
                outcomes.append(result)
                start()
            }
        }
        let toInbox = outcomes.compactMap { o -> String? in
            if case .delivered(true) = o.1 { return o.0 } else { return nil }
        }
        let gone = outcomes.compactMap { o -> String? in
            switch o.1 {
            case .delivered(false), .failed: o.0
            default: nil
            }
        }
        let now = Int64(Date().timeIntervalSince1970)
        for (ids, inbox) in [(toInbox, true), (gone, false)] where !ids.isEmpty {
            do {
                let cmd = UserPoolCommand.outboxDone(ids: ids, toInbox: inbox, now: now)
                _ = try await host.propose(shard: shard, cmd.encoded)
                state.withLockedValue { s in for id in ids { s.attempts[id] = nil } }
            } catch {
                // Still in the outbox: sent again later (the same Message-ID).
                logger.warning("shard \(shard): recording \(ids.count) delivered message(s) failed: \(error)")
            }
        }
    }

    /// One try at one message.
    func attempt(_ e: OutboxEntry) async -> Outcome {
        let m: OutboxMessage
        do {
            m = try e.message.opened { sealed in
                guard let opener = channels.opener else {
                    throw DeliveryError.permanent("the message is sealed and this node has no delivery key")
                }
                return try opener.open(sealed)
            }
        } catch let error as DeliveryError {
            return failure(e, error)
        } catch {
            return failure(e, .permanent("the message does not open with this node's delivery key: \(error)"))
        }
        do {
            switch m.medium {
            case .email:
                if let smtp = channels.smtp {
                    let mail = EmailMessage(
                        from: m.from ?? channels.defaultFrom, to: m.destination, replyTo: m.replyTo,
                        subject: m.subject ?? "", text: m.text, html: m.html, messageId: "\(e.id).\(m.poolId)@cognate",
                        date: Date(timeIntervalSince1970: TimeInterval(m.createdAt)))
                    try await smtpClient.send(mail, via: smtp)
                    return success(e, toInbox: false)
                }
            case .sms:
                if let sms = channels.sms {
                    try await sms.send(
                        SMSWebhook.Body(
                            phoneNumber: m.destination, message: m.text, messageId: e.id, userPoolId: m.poolId))
                    return success(e, toInbox: false)
                }
            default:
                break
            }
            guard channels.devInbox else {
                throw DeliveryError.permanent("no channel is configured for \(m.medium.description) messages")
            }
            // A log line carries no control character from a request (each field by scalar).
            let to = ControlCharacters.removed(from: m.destination)
            let line = "cognate: code \(m.code) for \(to) (\(m.kind.rawValue), pool \(m.poolId), message \(e.id))\n"
            FileHandle.standardOutput.write(Data(line.utf8))
            return success(e, toInbox: true)
        } catch let error as DeliveryError {
            return failure(e, error)
        } catch {
            return failure(e, .transient("\(error)"))
        }
    }

    func success(_ e: OutboxEntry, toInbox: Bool) -> Outcome {
        delivered.increment()
        logger.info("message \(e.id) (\(e.message.kind.rawValue)) delivered to \(e.message.medium.description)")
        return .delivered(toInbox: toInbox)
    }

    func failure(_ e: OutboxEntry, _ error: DeliveryError) -> Outcome {
        if case .transient = error {
            let tries = state.withLockedValue { s -> Int in
                var a = s.attempts[e.id] ?? Attempts()
                a.count += 1
                a.nextAt = Date().timeIntervalSince1970 + min(300, pow(2, Double(a.count - 1)))
                s.attempts[e.id] = a
                return a.count
            }
            if tries < Self.maxAttempts {
                retried.increment()
                logger.warning("message \(e.id): attempt \(tries) failed, retrying: \(error)")
                return .later
            }
        }
        failed.increment()
        logger.error("message \(e.id) (\(e.message.kind.rawValue)) to \(e.message.medium.description) failed: \(error)")
        return .failed
    }
}
