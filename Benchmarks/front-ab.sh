#!/usr/bin/env bash
# Two builds' fronts, taken in turn, against the same 3 real nodes on this machine: SRP
# sign-ins per second at concurrency 16 (the load generator is B's), then each build's
# `bench crypto` ratio of a sign-in with its tokens to the floor. Taking the builds in turn
# spreads the machine's drift over both; compare the columns, not single runs.
#   Benchmarks/front-ab.sh A_COGNATE B_COGNATE [ROUNDS] [SECONDS]
# e.g. a build of the commit before a change as A, .build/release/cognate as B. Both builds
# must speak the same node protocol (mutual TLS, from December 2026 on).
set -euo pipefail
a=$(realpath "${1:?usage: front-ab.sh A_COGNATE B_COGNATE [ROUNDS] [SECONDS]}")
b=$(realpath "${2:?usage: front-ab.sh A_COGNATE B_COGNATE [ROUNDS] [SECONDS]}")
rounds=${3:-3}
seconds=${4:-20}
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null; wait 2>/dev/null; rm -rf "$work"' EXIT
source "$(dirname "$0")/lib/three-nodes.sh"
read -r p1 p2 p3 a1 a2 a3 fp < <(free_ports 7)
{
  cat <<TOML
region = "us-east-1"
shards = 3
replication = 3
tick_ms = 50
front = "127.0.0.1:$fp"
admin_keys = ["cognate:cognate-local-secret"]
TOML
  secrets_table "$work"
  node_tables "$work" $p1 $p2 $p3 $a1 $a2 $a3
} > "$work/cluster.toml"
make_secrets "$b" "$work/cluster.toml"
for i in 1 2 3; do "$b" node --config "$work/cluster.toml" --id $i --log-level warning 2>>"$work/nodes.log" & done
sleep 3
endpoint="http://127.0.0.1:$fp"
reuse=()
printf '%-6s %-5s %12s %8s %9s %9s\n' round build sign-ins/s p99_ms front_ms nodes_ms
for r in $(seq 1 "$rounds"); do
  for which in A B; do
    bin=$([ $which = A ] && echo "$a" || echo "$b")
    "$bin" front --config "$work/cluster.toml" --log-level warning 2>>"$work/front-$which.log" &
    front=$!
    for _ in $(seq 1 100); do curl -sf -o /dev/null "$endpoint/health" && break; sleep 0.1; done
    "$b" bench signin --endpoint "$endpoint" --config "$work/cluster.toml" --flow srp --concurrency 16 \
      --duration "${seconds}s" --users 50 "${reuse[@]}" --json 2>/dev/null > "$work/$which-$r.json"
    kill -INT $front; wait $front || true
    python3 - "$work/$which-$r.json" "$r" "$which" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))[0]
print(f"{sys.argv[2]:<6} {sys.argv[3]:<5} {r['signInsPerSecond']:12.1f} {r['p99Ms']:8.1f} {r['endpointCPUMsPerSignIn'] or 0:9.2f} {r['nodesCPUMsPerSignIn'] or 0:9.2f}")
PY
    pool=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[0]["pool"])' "$work/$which-$r.json")
    client=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[0]["client"])' "$work/$which-$r.json")
    reuse=(--pool "$pool" --client "$client")
  done
done
printf '\n%-6s %-5s %s\n' round build "bench crypto: sign-in with tokens / its floor"
for r in $(seq 1 "$rounds"); do
  for which in A B; do
    bin=$([ $which = A ] && echo "$a" || echo "$b")
    ratio=$("$bin" bench crypto --rounds 2 --json | python3 -c 'import json,sys; print(round(json.load(sys.stdin)["signInWithTokensRatioToFloor"], 3))')
    printf '%-6s %-5s %s\n' "$r" "$which" "$ratio"
  done
done
