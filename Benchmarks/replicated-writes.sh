#!/usr/bin/env bash
# Durable replicated writes through 3 real nodes on this machine (release build, 300-byte
# values, closed loop), at client concurrencies 1, 16, 64 and 256, next to the same run's
# single-node LMDB durable-commit floor.
#   Benchmarks/replicated-writes.sh [SECONDS_PER_LEVEL]
# COGNATE_BIN=PATH runs that build instead of building this checkout's (to compare two
# builds, run each in turn: the ratio to the same run's floor is the figure).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
seconds=${1:-10}
if [ -n "${COGNATE_BIN:-}" ]; then
  bin=$(realpath "$COGNATE_BIN")
else
  swift build -c release --package-path "$root" --product cognate >&2
  bin="$root/.build/release/cognate"
fi
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null; wait 2>/dev/null; rm -rf "$work"' EXIT
source "$root/Benchmarks/lib/three-nodes.sh"
read -r p1 p2 p3 a1 a2 a3 < <(free_ports 6)
{
  printf 'shards = 3\nreplication = 3\ntick_ms = 50\n'
  secrets_table "$work"
  node_tables "$work" $p1 $p2 $p3 $a1 $a2 $a3
} > "$work/cluster.toml"
make_secrets "$bin" "$work/cluster.toml"
floor=$("$bin" bench storage --json --dir "$work/floor" --commits 1000 --batches 5 | python3 -c 'import json,sys; print(round(json.load(sys.stdin)["durableSinglePutCommitsPerSecond"]))')
for i in 1 2 3; do "$bin" node --config "$work/cluster.toml" --id $i --log-level warning 2>>"$work/nodes.log" & done
sleep 3
"$bin" kv put --config "$work/cluster.toml" warmup warmup >/dev/null
echo "single-node LMDB durable commits/s (floor, same run): $floor"
printf '%-12s %12s %10s %10s %14s %10s\n' concurrency writes/s p50_ms p99_ms etcd_anchor ratio
for c in 1 16 64 256; do
  case $c in 1) anchor=800;; 16) anchor=2000;; 64) anchor=4000;; 256) anchor=6500;; esac
  "$bin" kv load --config "$work/cluster.toml" --duration "$seconds" --concurrency $c --prefix "c$c" --json > "$work/load-$c.json"
  python3 - "$work/load-$c.json" "$c" "$anchor" "$floor" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
c, anchor, floor = int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
print(f"{c:<12} {s['writesPerSecond']:12.0f} {s['p50Milliseconds']:10.2f} {s['p99Milliseconds']:10.2f} {anchor:14d} {s['writesPerSecond']/anchor:9.2f}x   failed={s['failed']}  vs floor {s['writesPerSecond']/floor:.2f}x")
PY
done
