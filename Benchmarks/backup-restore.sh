#!/usr/bin/env bash
# Backup and restore of a whole cluster, between two real 3-node clusters on this machine:
# cluster A gets USERS users with permanent passwords (through the API, as `bench signin`
# makes them); `cognate backup` copies every shard while a sign-in load runs against A;
# `cognate backup verify` checks it; cluster B (its own ports and certificates, A's master
# keys) is built with `cognate restore`, started, and SAMPLE users picked at random sign in
# on B by SRP (pycognito) with their password; a wrong password must fail.
#   Benchmarks/backup-restore.sh [COGNATE] [USERS] [SAMPLE]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bin=$(realpath "${1:-$root/.build/release/cognate}")
users=${2:-100000}
sample=${3:-200}
python=${PYTHON:-$root/.venv/bin/python}
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null; wait 2>/dev/null; rm -rf "$work"' EXIT
source "$(dirname "$0")/lib/three-nodes.sh"

# start NAME: starts the nodes and front of $work/NAME/cluster.toml (jobs of this shell,
# stopped on exit), waits for the front, and sets $endpoint.
start() {
  local dir=$work/$1 port
  port=$(sed -n 's/^front = "127.0.0.1:\([0-9]*\)"/\1/p' "$dir/cluster.toml")
  for i in 1 2 3; do "$bin" node --config "$dir/cluster.toml" --id $i --log-level warning 2>>"$dir/nodes.log" & done
  "$bin" front --config "$dir/cluster.toml" --log-level warning 2>>"$dir/front.log" &
  for _ in $(seq 1 600); do curl -sf -o /dev/null "http://127.0.0.1:$port/health" && break; sleep 0.1; done
  endpoint="http://127.0.0.1:$port"
}

seconds_since() { python3 -c "import sys; print(round($(date +%s.%N) - float(sys.argv[1]), 1))" "$1"; }

three_node_definition "$work/a" "$bin"
start a
a=$endpoint
t=$(date +%s.%N)
"$bin" bench signin --endpoint "$a" --flow password --users "$users" --concurrency 4 --duration 1s --json \
  2>"$work/setup.log" > "$work/setup.json"
pool=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[0]["pool"])' "$work/setup.json")
client=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[0]["client"])' "$work/setup.json")
echo "cluster A: $users users with passwords made through the API in $(seconds_since "$t") s (pool $pool)"
du -sh "$work/a/node1" | awk '{print "cluster A: node 1 data directory " $1}'

# The backup runs online, under a sign-in load on the same cluster.
"$bin" bench signin --endpoint "$a" --pool "$pool" --client "$client" --flow srp --users 200 --concurrency 4 \
  --duration 60s --json \
  2>"$work/load.log" > "$work/load.json" &
load=$!
sleep 15
/usr/bin/time -f "backup: %e s wall, %M KiB max resident" \
  "$bin" backup --config "$work/a/cluster.toml" --out "$work/backup" --key "$work/backup.key"
wait $load
python3 - "$work/load.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))[-1]
print(f"SRP sign-in load on cluster A around the backup: {r['signIns']} sign-ins in {r['seconds']:.0f} s, "
      f"p99 {r['p99Ms']:.0f} ms, max {r['maxMs']:.0f} ms, errors {sum(r['errors'].values())}")
PY
du -sb "$work/backup" | awk '{print "backup size: " $1 " bytes (" int($1 / '"$users"') " per user)"}'
/usr/bin/time -f "verify: %e s wall, %M KiB max resident" "$bin" backup verify "$work/backup" --key "$work/backup.key" | tail -1

three_node_definition "$work/b" "$bin"
cp "$work/a/master.key" "$work/b/master.key"
/usr/bin/time -f "restore: %e s wall, %M KiB max resident" \
  "$bin" restore --from "$work/backup" --config "$work/b/cluster.toml" --key "$work/backup.key"
t=$(date +%s.%N)
start b
echo "cluster B: nodes and front serving $(seconds_since "$t") s after start"
"$python" "$(dirname "$0")/lib/srp-sample.py" "$endpoint" "$pool" "$users" "$sample" 11 first "cluster B"
