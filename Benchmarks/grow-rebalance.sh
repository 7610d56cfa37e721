#!/usr/bin/env bash
# 3 → 5 nodes online: a real cluster of three founding nodes and two spares (`join = true`)
# gets USERS users with permanent passwords through the API; then, under an SRP sign-in load
# (`bench signin`, 4 at a time, LOAD seconds), `cognate cluster add-node` adds node 4 and node 5
# and `cognate cluster rebalance` moves user-shard replicas and leaders onto them. Prints each
# step's time, the load's sign-ins, errors and latency around it, the members per shard at the
# end, and SAMPLE random users signing in by SRP afterwards (a wrong password must fail, and
# the pool's user count must be exact).
# With RESHARD (a user-shard count above 3), `cognate cluster reshard --shards RESHARD` runs
# between the additions and the rebalance: the new user shards are founded on the idlest nodes
# and their users move to them under the same load (every SRP sign-in records its attempt on the
# user's shard, so it writes too).
#   Benchmarks/grow-rebalance.sh [COGNATE] [USERS] [SAMPLE] [LOAD] [RESHARD]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bin=$(realpath "${1:-$root/.build/release/cognate}")
users=${2:-30000}
sample=${3:-200}
load_seconds=${4:-120}
reshard=${5:-}
python=${PYTHON:-$root/.venv/bin/python}
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null; wait 2>/dev/null; rm -rf "$work"' EXIT
source "$(dirname "$0")/lib/three-nodes.sh"

seconds_since() { python3 -c "import sys; print(round($(date +%s.%N) - float(sys.argv[1]), 1))" "$1"; }

dir=$work/grow
mkdir -p "$dir"
read -r p1 p2 p3 p4 p5 a1 a2 a3 a4 a5 front_port < <(free_ports 11)
{
  printf 'region = "us-east-1"\nshards = 3\nreplication = 3\ntick_ms = 50\nfront = "127.0.0.1:%s"\n' "$front_port"
  printf 'admin_keys = ["cognate:cognate-local-secret"]\n'
  secrets_table "$dir"
  node_tables "$dir" $p1 $p2 $p3 $a1 $a2 $a3
  for i in 4 5; do
    p=p$i a=a$i
    printf '[[nodes]]\nid = %s\npeer = "127.0.0.1:%s"\nadmin = "127.0.0.1:%s"\ndata = "%s/node%s"\njoin = true\n' \
      "$i" "${!p}" "${!a}" "$dir" "$i"
  done
} > "$dir/cluster.toml"
make_secrets "$bin" "$dir/cluster.toml"
config=$dir/cluster.toml
for i in 1 2 3 4 5; do "$bin" node --config "$config" --id $i --log-level warning 2>>"$dir/nodes.log" & done
"$bin" front --config "$config" --log-level warning 2>>"$dir/front.log" &
for _ in $(seq 1 600); do curl -sf -o /dev/null "http://127.0.0.1:$front_port/health" && break; sleep 0.1; done
endpoint="http://127.0.0.1:$front_port"

t=$(date +%s.%N)
"$bin" bench signin --endpoint "$endpoint" --flow password --users "$users" --concurrency 4 --duration 1s --json \
  2>"$work/setup.log" > "$work/setup.json"
pool=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[0]["pool"])' "$work/setup.json")
client=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[0]["client"])' "$work/setup.json")
echo "3 founding nodes: $users users with passwords made through the API in $(seconds_since "$t") s (pool $pool)"
du -sh "$dir/node1" | awk '{print "node 1 data directory " $1}'
"$bin" status --config "$config"

"$bin" bench signin --endpoint "$endpoint" --pool "$pool" --client "$client" --flow srp --users 200 --concurrency 4 \
  --duration "${load_seconds}s" --json 2>"$work/load.log" > "$work/load.json" &
load=$!
sleep 15
steps=("add-node --id 4" "add-node --id 5")
if [ -n "$reshard" ]; then steps+=("reshard --shards $reshard"); fi
steps+=("rebalance")
for step in "${steps[@]}"; do
  t=$(date +%s.%N)
  # shellcheck disable=SC2086
  "$bin" cluster $step --config "$config" | sed "s/^/  /"
  echo "cluster $step: $(seconds_since "$t") s"
done
wait $load
python3 - "$work/load.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))[-1]
print(f"SRP sign-in load around the growth: {r['signIns']} sign-ins in {r['seconds']:.0f} s, "
      f"p50 {r['p50Ms']:.0f} ms, p99 {r['p99Ms']:.0f} ms, max {r['maxMs']:.0f} ms, errors {sum(r['errors'].values())} "
      f"{r['errors']}")
PY
"$bin" status --config "$config"
"$python" "$(dirname "$0")/lib/srp-sample.py" "$endpoint" "$pool" "$users" "$sample" 13 first "5 nodes"
