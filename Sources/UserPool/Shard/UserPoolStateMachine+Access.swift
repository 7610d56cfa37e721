import Sharding

/// Which commands and reads a front may send. A front makes the API's reads and writes; a
/// reshard's steps (fence and move, ingest, the layout) and the reads that page out a
/// shard's records are the operator's tools', and the outbox's bookkeeping is the delivering
/// node's own (it proposes on itself, not over the network).
extension UserPoolStateMachine {
    static let operatorCommands: Set<String> = ["moveShard", "ingest", "setLayout", "outboxDone"]
    static let operatorReads: Set<String> = ["movingRecords", "outbox"]

    public func access(command: [UInt8]) -> ClientAccess {
        guard let name = Self.caseName(command) else { return .operator }
        return Self.operatorCommands.contains(name) ? .operator : .client
    }

    public func access(read: [UInt8]) -> ClientAccess {
        guard let name = Self.caseName(read) else { return .operator }
        return Self.operatorReads.contains(name) ? .operator : .client
    }

    /// The case a tagged command or query is, read off its JSON (`U{"<case>":…`) without
    /// decoding it; nil for anything else (left to the operator, and to the apply to refuse).
    static func caseName(_ bytes: [UInt8]) -> String? {
        guard bytes.count > 4, bytes[0] == UserPoolCommand.tag, bytes[1] == UInt8(ascii: "{"),
            bytes[2] == UInt8(ascii: "\"")
        else { return nil }
        let rest = bytes[3...].prefix(32)
        guard let end = rest.firstIndex(of: UInt8(ascii: "\"")) else { return nil }
        let name = rest[..<end]
        guard !name.isEmpty, name.allSatisfy({ (0x41...0x5a).contains($0) || (0x61...0x7a).contains($0) }) else {
            return nil
        }
        return String(decoding: name, as: UTF8.self)
    }
}
