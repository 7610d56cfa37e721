#!/usr/bin/env bash
# What mutual TLS costs, in one build, in the same run: three real nodes and a front on this
# machine, started in turn with TLS (as always) and without it (COGNATE_PLAINTEXT_FOR_BENCHMARKS,
# which nothing but a benchmark sets), measuring replicated key-value writes at concurrency
# 16 and 64 and SRP sign-ins at concurrency 16. Rounds alternate, so the machine's drift
# falls on both; the last lines give each figure's median with TLS as a share of without.
#   Benchmarks/tls-cost.sh [ROUNDS] [SECONDS]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
rounds=${1:-3}
seconds=${2:-15}
swift build -c release --package-path "$root" --product cognate >&2
bin="$root/.build/release/cognate"
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null; wait 2>/dev/null; rm -rf "$work"' EXIT
source "$root/Benchmarks/lib/three-nodes.sh"

run_round() {  # run_round MODE ROUND
  local mode=$1 round=$2 dir="$work/$1-$2"
  three_node_definition "$dir" "$bin"
  local fp=$front_port
  local plain=()
  [ "$mode" = plaintext ] && plain=(env COGNATE_PLAINTEXT_FOR_BENCHMARKS=insecure)
  for i in 1 2 3; do "${plain[@]}" "$bin" node --config "$dir/cluster.toml" --id $i --log-level warning 2>>"$dir/nodes.log" & done
  "${plain[@]}" "$bin" front --config "$dir/cluster.toml" --log-level warning 2>>"$dir/front.log" &
  local endpoint="http://127.0.0.1:$fp"
  for _ in $(seq 1 150); do curl -sf -o /dev/null "$endpoint/health" && break; sleep 0.1; done
  sleep 2
  "${plain[@]}" "$bin" kv put --config "$dir/cluster.toml" warmup warmup >/dev/null
  for c in 16 64; do
    "${plain[@]}" "$bin" kv load --config "$dir/cluster.toml" --duration "$seconds" --concurrency $c --prefix "c$c" --json \
      > "$dir/kv-$c.json"
  done
  "$bin" bench signin --endpoint "$endpoint" --config "$dir/cluster.toml" --flow srp --concurrency 16 \
    --duration "${seconds}s" --users 50 --json 2>/dev/null > "$dir/signin.json"
  python3 - "$dir" "$mode" "$round" <<'PY' | tee -a "$work/rows.txt"
import json, sys
d, mode, r = sys.argv[1:]
kv16 = json.load(open(f"{d}/kv-16.json"))["writesPerSecond"]
kv64 = json.load(open(f"{d}/kv-64.json"))["writesPerSecond"]
s = json.load(open(f"{d}/signin.json"))[0]
print(f"{r:<6} {mode:<10} {kv16:12.0f} {kv64:12.0f} {s['signInsPerSecond']:12.1f} {s['p99Ms']:9.1f}")
PY
  kill $(jobs -p) 2>/dev/null || true
  wait 2>/dev/null || true
}

printf '%-6s %-10s %12s %12s %12s %9s\n' round mode kv_c16/s kv_c64/s signins/s p99_ms
for r in $(seq 1 "$rounds"); do
  run_round tls "$r"
  run_round plaintext "$r"
done
python3 - "$work/rows.txt" <<'PY'
import statistics, sys
rows = [l.split() for l in open(sys.argv[1]) if l.strip()]
def med(mode, col): return statistics.median(float(r[col]) for r in rows if r[1] == mode)
print()
for name, col in [("replicated writes, c=16", 2), ("replicated writes, c=64", 3), ("SRP sign-ins, c=16", 4)]:
    t, p = med("tls", col), med("plaintext", col)
    print(f"{name:<26} TLS {t:10.1f}/s   plaintext {p:10.1f}/s   TLS/plaintext {t / p:.2f}")
PY
exit 0
