import CognitoModel
import Sharding
import Testing
import UserPool

@testable import Front

/// A password check runs under a slot of the user's shard leader: no write when it succeeds
/// with nothing to clear, a write for each failure, never more checks at once than the
/// failures it takes to lock the user.
@Suite("Sign-in attempts under the shard leader's slots")
struct AttemptSlotTests {
    @Test("a right password with no failures writes nothing; one after failures writes once, to clear them")
    func happyPathWritesNothing() async throws {
        let front = try TestFront(poolCacheSeconds: 86_400)
        try await front.run { c in
            let pool = try await c.pool()
            let client = try await c.appClient(pool: pool).clientId!
            try await c.user(pool: pool, "ann")
            _ = try await c.signIn(client: client, "ann")
            let before = front.shards.proposalCount
            for _ in 0..<3 { _ = try await c.signIn(client: client, "ann") }
            #expect(front.shards.proposalCount == before, "a clean sign-in wrote")
            await #expect(throws: APIFailure.self) { _ = try await c.signIn(client: client, "ann", password: "Wrong0ne!") }
            #expect(front.shards.proposalCount == before + 1, "a failure is written")
            _ = try await c.signIn(client: client, "ann")
            #expect(front.shards.proposalCount == before + 2, "the success after it clears it, in one write")
            _ = try await c.signIn(client: client, "ann")
            #expect(front.shards.proposalCount == before + 2, "cleared: nothing more")
            #expect(front.shards.heldSlots == 0)
        }
    }

    @Test("40 wrong passwords at once: at most five are checked, each written; the rest are refused as locked")
    func parallelGuesses() async throws {
        let front = try TestFront(poolCacheSeconds: 86_400)
        try await front.run { c in
            let pool = try await c.pool()
            let client = try await c.appClient(pool: pool).clientId!
            try await c.user(pool: pool, "lou")
            let before = front.shards.proposalCount
            let outcomes = await withTaskGroup(of: String.self) { group in
                for i in 0..<40 {
                    group.addTask {
                        do {
                            _ = try await c.signIn(client: client, "lou", password: "Wrong-\(i)-passw0rd!")
                            return "signed in"
                        } catch let e as APIFailure {
                            return e.message
                        } catch {
                            return "\(error)"
                        }
                    }
                }
                var all: [String] = []
                for await o in group { all.append(o) }
                return all
            }
            let wrong = outcomes.filter { $0 == "Incorrect username or password." }.count
            let locked = outcomes.filter { $0 == "Password attempts exceeded" }.count
            #expect((1...5).contains(wrong) && wrong + locked == 40, "\(outcomes)")
            #expect(front.shards.proposalCount - before == wrong, "each checked guess is written, no other")
            #expect(front.shards.heldSlots == 0, "every slot was given back")
            // Locked: even the right password is refused without a check.
            await #expect(throws: APIFailure.self) { _ = try await c.signIn(client: client, "lou") }
        }
    }

    @Test("a once id is claimed once, until its life is over")
    func claimOnce() {
        var table = OnceTable()
        let id = Array(repeating: UInt8(1), count: 32)
        let first = table.claim(id, now: 0, life: 1_000)
        let again = table.claim(id, now: 10, life: 1_000)
        let other = table.claim(Array(repeating: 2, count: 32), now: 10, life: 1_000)
        #expect(first && !again && other)
        // Past its life the id is forgotten (the challenge itself is refused by then).
        let later = table.claim(id, now: 1_000, life: 1_000)
        #expect(later)
        #expect(table.count == 2, "the id again and the other one")
    }

    @Test("slots: at most the allowance held per key; a release or the ticket's expiry frees one")
    func slotTable() {
        var table = SlotTable()
        table.reset(term: 1)
        let r = Reservation(reply: [], slot: .init(key: [7], allowance: 2, full: [0]))
        guard case .granted(let a) = table.take(r, now: 0), case .granted = table.take(r, now: 0) else {
            Issue.record("two slots not granted")
            return
        }
        #expect(table.take(r, now: 0) == .full)
        #expect(table.release(a) == [7])
        #expect(table.release(a) == nil)
        guard case .granted = table.take(r, now: 1) else { Issue.record("a freed slot not granted"); return }
        #expect(table.holders(of: [7]) == 2)
        #expect(table.expire(now: SlotTable.ticketMilliseconds + 1) == [[7], [7]])
        #expect(table.holders(of: [7]) == 0 && table.heldCount == 0)
    }
}
