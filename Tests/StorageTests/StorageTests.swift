import Foundation
import Storage
import Testing

/// A fresh directory removed when the test ends.
final class ScratchDirectory {
    let path: String
    init() {
        path = FileManager.default.temporaryDirectory.appendingPathComponent("cognate-storage-\(UUID().uuidString)").path
    }
    deinit { try? FileManager.default.removeItem(atPath: path) }
}

func key(_ i: Int) -> [UInt8] { withUnsafeBytes(of: UInt64(i).bigEndian, Array.init) }
func text(_ s: String) -> [UInt8] { Array(s.utf8) }

@Suite("Storage on LMDB")
struct StorageTests {
    @Test("a committed write survives closing and reopening the environment")
    func reopenAfterClose() throws {
        let dir = ScratchDirectory()
        do {
            let env = try Environment(path: dir.path)
            let t = try env.openTable("users")
            try env.write { (txn) throws in
                for i in 0..<100 { try txn.put(key(i), text("value-\(i)"), in: t) }
            }
        }
        let env = try Environment(path: dir.path)
        let t = try env.openTable("users")
        try env.read { (txn) throws in
            #expect(try txn.count(t) == 100)
            #expect(try txn.get(key(42), in: t) == text("value-42"))
            #expect(try txn.get(key(100), in: t) == nil)
        }
    }

    @Test("a throw inside write aborts the transaction and writes nothing")
    func abortOnThrow() throws {
        struct Boom: Error {}
        let dir = ScratchDirectory()
        let env = try Environment(path: dir.path)
        let t = try env.openTable("t")
        #expect(throws: Boom.self) {
            try env.write { (txn) throws in
                try txn.put(text("k"), text("v"), in: t)
                throw Boom()
            }
        }
        try env.read { (txn) throws in #expect(try txn.get(text("k"), in: t) == nil) }
    }

    @Test("tables are separate namespaces and survive reopening by name")
    func namedTables() throws {
        let dir = ScratchDirectory()
        let env = try Environment(path: dir.path)
        let a = try env.openTable("a")
        let b = try env.openTable("b")
        try env.write { (txn) throws in
            try txn.put(text("k"), text("in a"), in: a)
            try txn.put(text("k"), text("in b"), in: b)
        }
        try env.read { (txn) throws in
            #expect(try txn.get(text("k"), in: a) == text("in a"))
            #expect(try txn.get(text("k"), in: b) == text("in b"))
        }
        #expect(try env.openTable("a") == a)
    }

    @Test("the map grows on MDB_MAP_FULL and every write lands")
    func mapGrowth() throws {
        let dir = ScratchDirectory()
        let env = try Environment(path: dir.path, options: .init(mapSize: 1 << 20))
        let t = try env.openTable("big")
        let before = env.mapSize
        let value = [UInt8](repeating: 0x5a, count: 4000)
        for batch in 0..<20 {
            try env.write { (txn) throws in
                for i in 0..<100 { try txn.put(key(batch * 100 + i), value, in: t) }
            }
        }
        #expect(env.mapSize > before)
        try env.read { (txn) throws in
            #expect(try txn.count(t) == 2000)
            #expect(try txn.get(key(1999), in: t) == value)
        }
    }

    @Test("a write that needs more than maxMapSize fails with mapFull and changes nothing")
    func mapLimit() throws {
        let dir = ScratchDirectory()
        let env = try Environment(path: dir.path, options: .init(mapSize: 1 << 20, maxMapSize: 2 << 20))
        let t = try env.openTable("big")
        let value = [UInt8](repeating: 1, count: 8000)
        let error = #expect(throws: StorageError.self) {
            try env.write { (txn) throws in
                for i in 0..<1000 { try txn.put(key(i), value, in: t) }
            }
        }
        #expect(error?.code == .mapFull)
        try env.read { (txn) throws in #expect(try txn.count(t) == 0) }
    }

    @Test("range scans visit [lower, upper) in order and in reverse")
    func rangeScans() throws {
        let dir = ScratchDirectory()
        let env = try Environment(path: dir.path)
        let t = try env.openTable("r")
        try env.write { (txn) throws in
            for i in stride(from: 0, to: 100, by: 2) { try txn.put(key(i), text("\(i)"), in: t) }
        }
        func ints(_ e: [(key: [UInt8], value: [UInt8])]) -> [Int] { e.map { Int(String(decoding: $0.value, as: UTF8.self))! } }
        try env.read { (txn) throws in
            #expect(ints(try txn.entries(t, from: key(10), to: key(20))) == [10, 12, 14, 16, 18])
            #expect(ints(try txn.entries(t, from: key(11), to: key(21))) == [12, 14, 16, 18, 20])
            #expect(ints(try txn.entries(t, from: key(10), to: key(20), reverse: true)) == [18, 16, 14, 12, 10])
            #expect(ints(try txn.entries(t, from: key(11), to: key(21), reverse: true)) == [20, 18, 16, 14, 12])
            #expect(ints(try txn.entries(t, from: key(90))) == [90, 92, 94, 96, 98])
            #expect(ints(try txn.entries(t, to: key(5), reverse: true)) == [4, 2, 0])
            #expect(ints(try txn.entries(t, reverse: true, limit: 2)) == [98, 96])
            #expect(ints(try txn.entries(t, from: key(200))) == [])
            #expect(ints(try txn.entries(t, from: key(200), reverse: true)) == [])
            #expect(try txn.entries(t).count == 50)
        }
    }

    @Test("cursors seek and step")
    func cursors() throws {
        let dir = ScratchDirectory()
        let env = try Environment(path: dir.path)
        let t = try env.openTable("c")
        try env.write { (txn) throws in for s in ["apple", "banana", "cherry"] { try txn.put(text(s), text(s.uppercased()), in: t) } }
        try env.read { (txn) throws in
            try txn.withCursor(t) { (c) throws in
                #expect(try c.first()?.key == text("apple"))
                #expect(try c.next()?.key == text("banana"))
                #expect(try c.last()?.value == text("CHERRY"))
                #expect(try c.next() == nil)
                #expect(try c.seek(atLeast: text("b"))?.key == text("banana"))
                #expect(try c.previous()?.key == text("apple"))
                #expect(try c.seek(exactly: text("b")) == nil)
                #expect(try c.seek(exactly: text("cherry"))?.value == text("CHERRY"))
            }
        }
    }

    @Test("noOverwrite refuses an existing key; delete and deleteRange remove")
    func writes() throws {
        let dir = ScratchDirectory()
        let env = try Environment(path: dir.path)
        let t = try env.openTable("w")
        try env.write { (txn) throws in for i in 0..<10 { try txn.put(key(i), [UInt8(i)], in: t) } }
        let error = #expect(throws: StorageError.self) {
            try env.write { (txn) throws in try txn.put(key(3), [0], in: t, noOverwrite: true) }
        }
        #expect(error?.code == .keyExists)
        try env.write { (txn) throws in
            #expect(try txn.delete(key(0), in: t))
            #expect(try !txn.delete(key(0), in: t))
            #expect(try txn.deleteRange(t, from: key(5), to: key(8)) == 3)
        }
        try env.read { (txn) throws in
            #expect(try txn.entries(t).map { $0.value[0] } == [1, 2, 3, 4, 8, 9])
        }
        try env.write { (txn) throws in try txn.clear(t) }
        try env.read { (txn) throws in #expect(try txn.count(t) == 0) }
    }

    @Test("readers see a consistent snapshot while a writer commits")
    func snapshotIsolation() throws {
        let dir = ScratchDirectory()
        let env = try Environment(path: dir.path)
        let t = try env.openTable("s")
        try env.write { (txn) throws in try txn.put(text("n"), text("1"), in: t) }
        try env.read { (reader) throws in
            try env.write { (txn) throws in try txn.put(text("n"), text("2"), in: t) }
            #expect(try reader.get(text("n"), in: t) == text("1"))
        }
        try env.read { (txn) throws in #expect(try txn.get(text("n"), in: t) == text("2")) }
    }

    @Test("concurrent writers and readers from many threads lose nothing")
    func concurrency() async throws {
        let dir = ScratchDirectory()
        let env = try Environment(path: dir.path, options: .init(mapSize: 1 << 20, durability: .noSync))
        let t = try env.openTable("cc")
        try await withThrowingTaskGroup(of: Void.self) { group in
            for w in 0..<4 {
                group.addTask {
                    for i in 0..<250 {
                        try env.write { (txn) throws in try txn.put(key(w * 1000 + i), [UInt8](repeating: 1, count: 500), in: t) }
                        _ = try env.read { (txn) throws in try txn.count(t) }
                    }
                }
            }
            try await group.waitForAll()
        }
        try env.read { (txn) throws in #expect(try txn.count(t) == 1000) }
    }

    @Test("an environment that cannot be opened fails with a StorageError")
    func openFailure() {
        #expect(throws: StorageError.self) { try Environment(path: "/proc/cognate-cannot-exist/x") }
    }
}
