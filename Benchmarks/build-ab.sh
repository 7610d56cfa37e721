#!/usr/bin/env bash
# Two builds, each a whole cluster (3 nodes and a front on this machine, fresh data), taken
# in turn (A B, then B A): Raft writes per SignUp (without and with an email alias, counted from the
# shards' commit indexes), SRP sign-ins per second at concurrency 16 (the load generator is
# B's for both), and replicated key-value writes per second at concurrency 16 and 64 (each
# build's own `kv load`). Taking the builds in turn spreads the machine's drift over both;
# compare the columns, not single runs.
#   Benchmarks/build-ab.sh A_COGNATE B_COGNATE [ROUNDS] [SECONDS]
# e.g. a release build of the commit before a change as A, .build/release/cognate as B.
# Needs the venv scripts/bootstrap makes (boto3).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
a=$(realpath "${1:?usage: build-ab.sh A_COGNATE B_COGNATE [ROUNDS] [SECONDS]}")
b=$(realpath "${2:?usage: build-ab.sh A_COGNATE B_COGNATE [ROUNDS] [SECONDS]}")
rounds=${3:-3}
seconds=${4:-15}
python="$root/.venv/bin/python"
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null; wait 2>/dev/null; rm -rf "$work"' EXIT
source "$root/Benchmarks/lib/three-nodes.sh"

printf '%-6s %-5s %9s %11s %12s %8s %9s %10s %10s\n' \
  round build signup_w signup_w_mail sign-ins/s p99_ms front_ms kv_c16/s kv_c64/s
for r in $(seq 1 "$rounds"); do
  # A then B in odd rounds, B then A in even ones: neither always follows the other's disk
  # traffic.
  order="A B"; [ $((r % 2)) = 0 ] && order="B A"
  for which in $order; do
    bin=$([ $which = A ] && echo "$a" || echo "$b")
    dir="$work/$which-$r"
    mkdir -p "$dir"
    read -r p1 p2 p3 a1 a2 a3 fp < <(free_ports 7)
    {
      printf 'region = "us-east-1"\nshards = 3\nreplication = 3\ntick_ms = 50\n'
      printf 'front = "127.0.0.1:%s"\nadmin_keys = ["cognate:cognate-local-secret"]\n' "$fp"
      secrets_table "$dir"
      node_tables "$dir" $p1 $p2 $p3 $a1 $a2 $a3
    } > "$dir/cluster.toml"
    make_secrets "$bin" "$dir/cluster.toml"
    pids=()
    for i in 1 2 3; do
      "$bin" node --config "$dir/cluster.toml" --id $i --log-level warning 2>>"$dir/nodes.log" &
      pids+=($!)
    done
    sleep 3
    "$bin" front --config "$dir/cluster.toml" --log-level warning 2>>"$dir/front.log" &
    pids+=($!)
    endpoint="http://127.0.0.1:$fp"
    for _ in $(seq 1 100); do curl -sf -o /dev/null "$endpoint/health" && break; sleep 0.1; done
    "$python" "$root/Benchmarks/lib/signup-writes.py" "$endpoint" "127.0.0.1:$a1,127.0.0.1:$a2,127.0.0.1:$a3" 100 \
      > "$dir/writes.json"
    "$b" bench signin --endpoint "$endpoint" --config "$dir/cluster.toml" --flow srp --concurrency 16 \
      --duration "${seconds}s" --users 50 --json 2>/dev/null > "$dir/signin.json"
    for c in 16 64; do
      "$bin" kv load --config "$dir/cluster.toml" --duration "$seconds" --concurrency $c --prefix "c$c" --json \
        > "$dir/kv-$c.json"
    done
    kill -INT "${pids[@]}" 2>/dev/null || true
    wait "${pids[@]}" 2>/dev/null || true
    python3 - "$dir" "$r" "$which" <<'PY'
import json, sys
d, r, which = sys.argv[1:]
w = json.load(open(f"{d}/writes.json"))
s = json.load(open(f"{d}/signin.json"))[0]
kv = [json.load(open(f"{d}/kv-{c}.json")) for c in (16, 64)]
rate = lambda k: (k.get("summary") or k)["writesPerSecond"]
print(f"{r:<6} {which:<5} {w['writesPerSignUp']:9.2f} {w['writesPerSignUpWithEmailAlias']:11.2f} "
      f"{s['signInsPerSecond']:12.1f} {s['p99Ms']:8.1f} {s['endpointCPUMsPerSignIn'] or 0:9.2f} "
      f"{rate(kv[0]):10.0f} {rate(kv[1]):10.0f}")
PY
  done
done
