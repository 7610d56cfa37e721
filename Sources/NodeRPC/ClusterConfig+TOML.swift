import Foundation

/// A definition as TOML: what `cluster up --data` / `--nodes` and the drill write out for
/// the processes they start, and what `ClusterConfig.parse` reads back.
extension ClusterConfig {
    public func renderTOML() -> String {
        func q(_ s: String) -> String {
            "\"" + s.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\""
        }
        var lines: [String] = []
        if let name { lines.append("name = \(q(name))") }
        if let region { lines.append("region = \(q(region))") }
        if let domain_suffix { lines.append("domain_suffix = \(q(domain_suffix))") }
        lines += [
            "shards = \(shards)", "replication = \(replication)", "tick_ms = \(tickMilliseconds)",
            "election_ticks = \(electionTicks)", "heartbeat_ticks = \(heartbeatTicks)",
            "snapshot_threshold = \(snapshotThreshold)",
        ]
        if let log_max_age_seconds { lines.append("log_max_age_seconds = \(log_max_age_seconds)") }
        if let front { lines.append("front = \(q(front))") }
        if let public_url { lines.append("public_url = \(q(public_url))") }
        if let admin_keys { lines.append("admin_keys = [" + admin_keys.map(q).joined(separator: ", ") + "]") }
        if let master_key_file { lines.append("master_key_file = \(q(master_key_file))") }
        if let lockout_base_seconds { lines.append("lockout_base_seconds = \(lockout_base_seconds)") }
        if let kv_harness { lines.append("kv_harness = \(kv_harness)") }
        if let dev_inbox { lines.append("dev_inbox = \(dev_inbox)") }
        if let email {
            lines += ["", "[email]"]
            if let v = email.smtp_url { lines.append("smtp_url = \(q(v))") }
            if let v = email.from { lines.append("from = \(q(v))") }
            if let v = email.starttls { lines.append("starttls = \(q(v))") }
            if let v = email.ca_file { lines.append("ca_file = \(q(v))") }
        }
        if let v = sms?.webhook_url { lines += ["", "[sms]", "webhook_url = \(q(v))"] }
        if let tls {
            lines += ["", "[tls]"]
            if let v = tls.dir { lines.append("dir = \(q(v))") }
            if let v = tls.ca { lines.append("ca = \(q(v))") }
            if let v = tls.ca_key { lines.append("ca_key = \(q(v))") }
            if let v = tls.front_cert { lines.append("front_cert = \(q(v))") }
            if let v = tls.front_key { lines.append("front_key = \(q(v))") }
            if let v = tls.operator_cert { lines.append("operator_cert = \(q(v))") }
            if let v = tls.operator_key { lines.append("operator_key = \(q(v))") }
            if let v = tls.delivery_pub { lines.append("delivery_pub = \(q(v))") }
            if let v = tls.delivery_key { lines.append("delivery_key = \(q(v))") }
        }
        for n in nodes {
            lines += [
                "", "[[nodes]]", "id = \(n.id)", "peer = \(q(n.peer))", "admin = \(q(n.admin))", "data = \(q(n.data))",
            ]
            if let c = n.cert { lines.append("cert = \(q(c))") }
            if let k = n.key { lines.append("key = \(q(k))") }
            if let j = n.join { lines.append("join = \(j)") }
        }
        return lines.joined(separator: "\n") + "\n"
    }
}
