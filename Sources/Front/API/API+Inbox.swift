import Foundation
import UserPool

/// The local inbox (`dev_inbox`): messages delivered with no channel configured, newest
/// first, from every user shard.
extension API {
    public struct InboxMessage: Codable, Sendable {
        var id: String
        var kind: String
        var poolId: String
        var username: String
        var medium: String
        var destination: String
        var subject: String?
        var code: String
        var text: String
        var createdAt: Int64
        var deliveredAt: Int64?
    }

    public struct Inbox: Codable, Sendable {
        var messages: [InboxMessage]
    }

    /// Up to `limit` messages (at most 1,000), optionally only those to `destination` or
    /// of `poolId`.
    func inbox(limit: Int, destination: String?, poolId: String?) async throws -> Inbox {
        let limit = min(max(limit, 1), 1_000)
        var all: [OutboxEntry] = []
        for shard in await store.allUserShards() {
            guard case .messages(let m) = try await store.query(shard, .inbox(before: nil, limit: 1_000)) else {
                continue
            }
            all += m
        }
        let chosen =
            all
            .filter { e in destination.map { e.message.destination == $0 } ?? true }
            .filter { e in poolId.map { e.message.poolId == $0 } ?? true }
            .sorted {
                ($0.deliveredAt ?? 0, $0.message.createdAt, $0.id) > ($1.deliveredAt ?? 0, $1.message.createdAt, $1.id)
            }
        return Inbox(
            messages: chosen.prefix(limit).map { e in
                let m = e.message
                return InboxMessage(
                    id: e.id, kind: m.kind.rawValue, poolId: m.poolId, username: m.username,
                    medium: m.medium.description, destination: m.destination, subject: m.subject, code: m.code,
                    text: m.text, createdAt: m.createdAt, deliveredAt: e.deliveredAt)
            })
    }

    static func escapeHTML(_ s: String) -> String { MessageRules.escapeHTML(s) }

    /// The inbox as a small HTML page.
    static func inboxPage(_ inbox: Inbox) -> String {
        let esc = escapeHTML
        let rows = inbox.messages.map { m in
            "<tr><td>\(esc(m.destination))</td><td><b>\(esc(m.code))</b></td><td>\(esc(m.kind))</td>"
                + "<td>\(esc(m.subject ?? ""))</td><td>\(esc(m.text))</td><td>\(esc(m.poolId))</td>"
                + "<td>\(esc(m.username))</td><td>\(m.createdAt)</td></tr>"
        }
        return """
            <!doctype html><html><head><meta charset="utf-8"><title>Cognate local inbox</title>
            <style>body{font-family:sans-serif}
            td,th{padding:4px 8px;border-bottom:1px solid #ddd;text-align:left}</style>
            </head><body><h1>Local inbox</h1><p>Messages of this cluster with no channel configured, newest first.
            (JSON: <code>?format=json</code>.)</p>
            <table><tr><th>To</th><th>Code</th><th>Kind</th><th>Subject</th><th>Message</th><th>Pool</th>
            <th>User</th><th>Created</th></tr>
            \(rows.joined(separator: "\n"))
            </table></body></html>
            """
    }
}
