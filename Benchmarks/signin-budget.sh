#!/usr/bin/env bash
# Where the CPU of one SRP sign-in goes on this machine, and how much of it a target of
# "sign-ins/s ≥ SHARE of the crypto floor" leaves for everything that is not crypto.
# Against a cluster started by `cognate cluster up` on this machine: runs `bench crypto`
# (the floor), then `bench signin --flow srp --concurrency 16 --users 50` (a new pool each
# run) with `perf record -a` sampling every core through the middle of the run, and splits
# the samples by process (front, nodes, this load generator) and by where they fell
# (libcrypto, kernel, the rest).
#   Benchmarks/signin-budget.sh [ENDPOINT] [SECONDS] [SHARE]
# defaults: http://127.0.0.1:9229, 30, 0.70; COGNATE=path picks the binary (default the
# release build). Needs perf (Debian: linux-perf) and permission to sample every CPU.
set -euo pipefail
endpoint=${1:-http://127.0.0.1:9229}
seconds=${2:-30}
share=${3:-0.70}
cognate=$(realpath "${COGNATE:-$(dirname "$0")/../.build/release/cognate}")
command -v perf >/dev/null || { echo "signin-budget: perf is not installed (Debian: apt-get install linux-perf)" >&2; exit 2; }
port=${endpoint##*:}
port=${port%%/*}
front=$(ss -Hltnp "sport = :$port" | grep -o 'pid=[0-9]*' | head -1 | cut -d= -f2 || true)
[ -n "$front" ] || { echo "signin-budget: nothing listens on port $port; start the cluster first (cognate cluster up)" >&2; exit 2; }
nodes=$(pgrep -f "cognate node " | tr '\n' ' ' || true)
[ -n "$nodes" ] || { echo "signin-budget: no \`cognate node\` processes on this machine" >&2; exit 2; }
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null; wait 2>/dev/null; rm -rf "$work"' EXIT

echo "bench crypto (the floor)…" >&2
"$cognate" bench crypto --rounds 3 --json > "$work/crypto.json"
echo "bench signin for ${seconds}s, perf on every core for the middle half…" >&2
"$cognate" bench signin --endpoint "$endpoint" --flow srp --concurrency 16 --duration "${seconds}s" --users 50 --json \
  > "$work/signin.json" 2>"$work/signin.log" &
load=$!
sleep "$(python3 -c "print($seconds / 4 + 3)")"  # + the set-up of the pool and users
perf record -q -a -F 499 -e cpu-clock -o "$work/perf.data" -- sleep "$(python3 -c "print($seconds / 2)")" \
  || { echo "signin-budget: perf record failed (sampling every CPU needs root or kernel.perf_event_paranoid ≤ 0)" >&2; exit 1; }
wait $load || { cat "$work/signin.log" >&2; exit 1; }
perf script -i "$work/perf.data" -F pid,ip,dso 2>/dev/null > "$work/samples.txt"

python3 - "$work" "$front" "$load" "$share" $nodes <<'PY'
import collections, json, sys
work, front, load, share, nodes = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4]), set(sys.argv[5:])
crypto = json.load(open(f"{work}/crypto.json"))
run = json.load(open(f"{work}/signin.json"))[0]
role = lambda pid: "front" if pid == front else "nodes" if pid in nodes else "load generator" if pid == load else "idle, other"
counts, total = collections.Counter(), 0
for line in open(f"{work}/samples.txt"):
    parts = line.split()
    if len(parts) < 2: continue
    dso = parts[-1]
    where = "libcrypto" if "libcrypto" in dso else "kernel" if "kernel" in dso else "the rest"
    counts[role(parts[0]), where] += 1
    total += 1
cores, rate = crypto["cores"], run["signInsPerSecond"]
ms = lambda n: n / total * cores * 1000 / rate  # ms of one core per sign-in
columns = ["libcrypto", "kernel", "the rest"]
print(f"{rate:.1f} sign-ins/s, p50 {run['p50Ms']:.1f} ms, p99 {run['p99Ms']:.1f} ms; {total} samples on {cores} cores")
print(f"\nCPU per sign-in (ms)  {'libcrypto':>10} {'kernel':>8} {'the rest':>9} {'total':>8}")
for r in ["front", "nodes", "load generator", "idle, other"]:
    cells = [ms(counts[r, c]) for c in columns]
    print(f"{r:<21} {cells[0]:10.2f} {cells[1]:8.2f} {cells[2]:9.2f} {sum(cells):8.2f}")
sums = [ms(sum(counts[r, c] for r in ["front", "nodes", "load generator"])) for c in columns]
print(f"{'all three':<21} {sums[0]:10.2f} {sums[1]:8.2f} {sums[2]:9.2f} {sum(sums):8.2f}")
floor = crypto["signInWithTokensFloorAllCoresMeasured"]
budget = cores * 1000 / (share * floor)
print(f"\nfloor (bench crypto, sign-in + 2 tokens, {cores} cores at once): {floor:.1f}/s; this run {rate:.1f}/s = {100 * rate / floor:.0f}%")
print(f"{100 * share:.0f}% of the floor is {share * floor:.1f}/s: {budget:.2f} ms of one core per sign-in for all three")
print(f"libcrypto took {sums[0]:.2f} ms of it, which leaves {budget - sums[0]:.2f} ms for the kernel and the rest; they took {sums[1] + sums[2]:.2f} ms (the kernel alone {sums[1]:.2f})")
print(f"libcrypto alone would cap the run at {cores * 1000 / sums[0]:.1f}/s = {100 * cores * 1000 / sums[0] / floor:.0f}% of the floor")
PY
