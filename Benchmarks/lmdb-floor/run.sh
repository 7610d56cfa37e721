#!/usr/bin/env bash
# LMDB's own durable single-put commit rate (C) next to the same workload through Cognate's
# Storage layer, in one run, alternating A/B/A/B so drift hits both alike. Prints each run and
# the ratio of the medians.
#   Benchmarks/lmdb-floor/run.sh [ROUNDS] [COMMITS]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
rounds=${1:-3}
commits=${2:-2000}
scratch=${BENCH_DIR:-$root/.bench-storage}
mkdir -p "$scratch"
cc -O2 -o "$scratch/lmdb_floor" "$here/lmdb_floor.c" -llmdb
swift build -c release --package-path "$root" --product cognate >&2
c_rates=(); s_rates=(); s_batched=()
for r in $(seq "$rounds"); do
  rm -rf "$scratch/c-env"
  c=$("$scratch/lmdb_floor" "$scratch/c-env" "$commits" 20)
  s=$("$root/.build/release/cognate" bench storage --json --dir "$scratch" --commits "$commits" --batches 20)
  echo "round $r  C:     $c"
  echo "round $r  Swift: $s"
  c_rates+=("$(echo "$c" | python3 -c 'import json,sys; print(json.load(sys.stdin)["durableSinglePutCommitsPerSecond"])')")
  s_rates+=("$(echo "$s" | python3 -c 'import json,sys; print(json.load(sys.stdin)["durableSinglePutCommitsPerSecond"])')")
  s_batched+=("$(echo "$s" | python3 -c 'import json,sys; print(json.load(sys.stdin)["durableBatchedPutsPerSecond"])')")
done
rm -rf "$scratch/c-env"
python3 - "${c_rates[*]}" "${s_rates[*]}" "${s_batched[*]}" <<'PY'
import statistics, sys
c = statistics.median(map(float, sys.argv[1].split()))
s = statistics.median(map(float, sys.argv[2].split()))
b = statistics.median(map(float, sys.argv[3].split()))
print(f"median durable single-put commits/s: C {c:.1f}, Storage {s:.1f}, ratio {s / c:.2f}")
print(f"median durable puts/s at 1,000 per commit through Storage: {b:.1f} = {b / s:.0f}x the single-put rate")
PY
