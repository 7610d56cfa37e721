import CCrypto

/// The benchmark floor: one bare libcrypto modular exponentiation with the same shape as the
/// sign-in's (3072-bit modulus N, random base, 256-bit exponent, Montgomery context built
/// once), so hot-path figures can be reported as a ratio to what libcrypto alone achieves.
public final class ModexpFloor {
    private let group: SRPGroup
    private let ctx: OpaquePointer
    private let base: OpaquePointer, exponent: OpaquePointer, result: OpaquePointer

    public init(group: SRPGroup = .cognito, using rng: inout some RandomNumberGenerator) {
        self.group = group
        guard let ctx = BN_CTX_new(), let base = BN_new(), let exponent = BN_new(), let result = BN_new() else {
            fatalError("libcrypto: out of memory")
        }
        self.ctx = ctx
        self.base = base
        self.exponent = exponent
        self.result = result
        let baseBytes = (0..<group.byteLength).map { _ in UInt8.random(in: 0...255, using: &rng) }
        let exponentBytes = (0..<32).map { _ in UInt8.random(in: 0...255, using: &rng) }
        baseBytes.withUnsafeBufferPointer { _ = BN_bin2bn($0.baseAddress, Int32($0.count), base) }
        BN_nnmod(base, base, group.N.bn, ctx)
        exponentBytes.withUnsafeBufferPointer { _ = BN_bin2bn($0.baseAddress, Int32($0.count), exponent) }
    }

    deinit {
        BN_CTX_free(ctx)
        BN_free(base)
        BN_free(exponent)
        BN_free(result)
    }

    /// One base^exponent mod N.
    @inline(never)
    public func run() {
        BN_mod_exp_mont(result, base, exponent, group.N.bn, ctx, group.mont)
    }
}
