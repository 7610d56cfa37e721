/// What a reserving read found, and what the shard's leader must hold for it: a state
/// machine answers `reserve(request:…)` with one. The leader serialises work on one key (a
/// user's password checks) in memory under its term instead of through the log: at most
/// `slot.allowance` reservations of a key are held at once. A `once` id (an SRP challenge)
/// is claimed once, on the node that issued it.
public struct Reservation: Sendable, Equatable {
    /// The answer when granted (or when nothing is held).
    public var reply: [UInt8]
    public var slot: Slot?
    public var once: Once?

    /// At most `allowance` holders of `key` at once (0: none; `full` at once).
    public struct Slot: Sendable, Equatable {
        public var key: [UInt8]
        public var allowance: Int
        /// The answer when no slot came free within the wait.
        public var full: [UInt8]

        public init(key: [UInt8], allowance: Int, full: [UInt8]) {
            self.key = key
            self.allowance = allowance
            self.full = full
        }
    }

    /// An id claimed once, on the node that issued it (`node`), in the run of that node's
    /// process it was issued in (`boot`): that node remembers every id claimed since it
    /// started, whichever node leads the shard meanwhile; a restarted node remembers none,
    /// so it refuses ids of its earlier runs.
    public struct Once: Sendable, Equatable {
        public var id: [UInt8]
        public var node: UInt64
        public var boot: UInt64
        /// The answer for an id claimed before, or one its node can no longer vouch for.
        public var used: [UInt8]
        /// How long the id is remembered (milliseconds of the node's clock): past its life
        /// the request that carries it is refused by the state machine anyway.
        public var lifeMilliseconds: UInt64

        public init(id: [UInt8], node: UInt64, boot: UInt64, used: [UInt8], lifeMilliseconds: UInt64) {
            self.id = id
            self.node = node
            self.boot = boot
            self.used = used
            self.lifeMilliseconds = lifeMilliseconds
        }
    }

    public init(reply: [UInt8], slot: Slot? = nil, once: Once? = nil) {
        self.reply = reply
        self.slot = slot
        self.once = once
    }
}

/// The slots a shard's leader holds in its term. Pure: time comes in as milliseconds; the
/// runtime resets it whenever the term or the leadership changes.
public struct SlotTable: Sendable {
    public enum Verdict: Sendable, Equatable {
        /// Held under `ticket` (0: nothing to hold).
        case granted(ticket: UInt64)
        /// Every slot of the key is held: wait for a release, or answer `full`.
        case full
    }

    /// How long a ticket is held without a release (the front died, the release was lost).
    public static let ticketMilliseconds: UInt64 = 20_000

    public private(set) var term: UInt64 = 0
    private var held: [[UInt8]: Int] = [:]
    private var tickets: [UInt64: (key: [UInt8], expires: UInt64)] = [:]
    private var ticketOrder = Queue<(expires: UInt64, ticket: UInt64)>()
    private var nextTicket: UInt64 = 1

    public init() {}

    /// Forgets every hold: a new term (or none) begins.
    public mutating func reset(term: UInt64) {
        self.term = term
        held = [:]
        tickets = [:]
        ticketOrder = Queue()
    }

    public var heldCount: Int { tickets.count }
    public func holders(of key: [UInt8]) -> Int { held[key] ?? 0 }

    /// Takes the slot `reservation` needs at `now`.
    public mutating func take(_ reservation: Reservation, now: UInt64) -> Verdict {
        guard let slot = reservation.slot else { return .granted(ticket: 0) }
        guard holders(of: slot.key) < slot.allowance else { return .full }
        let ticket = nextTicket
        nextTicket += 1
        held[slot.key, default: 0] += 1
        let expires = now &+ Self.ticketMilliseconds
        tickets[ticket] = (slot.key, expires)
        ticketOrder.append((expires, ticket))
        return .granted(ticket: ticket)
    }

    /// Gives a ticket back; the key it held (nil: unknown or expired already).
    @discardableResult
    public mutating func release(_ ticket: UInt64) -> [UInt8]? {
        guard let t = tickets.removeValue(forKey: ticket) else { return nil }
        free(t.key)
        return t.key
    }

    /// Drops tickets past their life; the keys whose slots came free.
    public mutating func expire(now: UInt64) -> [[UInt8]] {
        var freed: [[UInt8]] = []
        while let first = ticketOrder.first, first.expires <= now {
            ticketOrder.dropFirst()
            if let t = tickets.removeValue(forKey: first.ticket) {
                free(t.key)
                freed.append(t.key)
            }
        }
        return freed
    }

    private mutating func free(_ key: [UInt8]) {
        let left = (held[key] ?? 1) - 1
        held[key] = left > 0 ? left : nil
    }
}

/// The once ids a node has granted since it started, each until its life is over. Pure.
public struct OnceTable: Sendable {
    /// Ids remembered at most: past it, new ones are refused until old ones expire. At the
    /// service's sign-in rates a challenge's life holds far fewer.
    public static let maxIds = 1_000_000

    private var claimed: Set<[UInt8]> = []
    private var order = Queue<(expires: UInt64, id: [UInt8])>()

    public init() {}

    public var count: Int { claimed.count }

    /// Claims `id` at `now` for `life` milliseconds; false if it was claimed before (or the
    /// table is full).
    public mutating func claim(_ id: [UInt8], now: UInt64, life: UInt64) -> Bool {
        while let first = order.first, first.expires <= now {
            order.dropFirst()
            claimed.remove(first.id)
        }
        guard claimed.count < Self.maxIds, claimed.insert(id).inserted else { return false }
        order.append((now &+ life, id))
        return true
    }
}

/// A first-in first-out queue on an array: taking from the front is O(1) amortised.
struct Queue<Element: Sendable>: Sendable {
    private var items: [Element] = []
    private var head = 0

    var first: Element? { head < items.count ? items[head] : nil }

    mutating func append(_ e: Element) { items.append(e) }

    mutating func dropFirst() {
        guard head < items.count else { return }
        head += 1
        if head >= 1_024 && head * 2 >= items.count {
            items.removeFirst(head)
            head = 0
        }
    }
}
