#!/usr/bin/env bash
# Export and import of a pool's users between two real 3-node clusters on this machine:
# cluster A gets USERS users with permanent passwords (through the API, as `bench signin`
# makes them), `cognate users export` writes them out, cluster B (its own certificates and
# master key) takes them in with `cognate users import`, and SAMPLE users picked at random
# then sign in on B by SRP (pycognito) with their old password; a wrong password must fail.
#   Benchmarks/users-transfer.sh [COGNATE] [USERS] [SAMPLE]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bin=$(realpath "${1:-$root/.build/release/cognate}")
users=${2:-100000}
sample=${3:-200}
python=${PYTHON:-$root/.venv/bin/python}
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null; wait 2>/dev/null; rm -rf "$work"' EXIT
source "$(dirname "$0")/lib/three-nodes.sh"

# cluster NAME: writes $work/NAME/cluster.toml, starts its nodes and front (jobs of this shell,
# stopped on exit), and sets $endpoint.
cluster() {
  local dir=$work/$1
  three_node_definition "$dir" "$bin"
  local fp=$front_port
  for i in 1 2 3; do "$bin" node --config "$dir/cluster.toml" --id $i --log-level warning 2>>"$dir/nodes.log" & done
  "$bin" front --config "$dir/cluster.toml" --log-level warning 2>>"$dir/front.log" &
  for _ in $(seq 1 300); do curl -sf -o /dev/null "http://127.0.0.1:$fp/health" && break; sleep 0.1; done
  endpoint="http://127.0.0.1:$fp"
}

cluster a
a=$endpoint
start=$(date +%s.%N)
"$bin" bench signin --endpoint "$a" --flow password --users "$users" --concurrency 4 --duration 1s --json \
  2>"$work/setup.log" > "$work/setup.json"
made=$(python3 -c "print(round($(date +%s.%N) - $start, 1))")
pool=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[0]["pool"])' "$work/setup.json")
echo "cluster A: $users users with passwords made through the API in $made s (pool $pool)"
/usr/bin/time -f "export: %e s wall, %M KiB max resident" \
  "$bin" users export --config "$work/a/cluster.toml" --pool "$pool" --out "$work/users.jsonl" --key "$work/export.key"
ls -l "$work/users.jsonl" | awk '{print "export file: " $5 " bytes (" int($5 / '"$users"') " per user)"}'

cluster b
b=$endpoint
/usr/bin/time -f "import: %e s wall, %M KiB max resident" \
  "$bin" users import --config "$work/b/cluster.toml" --in "$work/users.jsonl" --key "$work/export.key" --concurrency 32
"$python" "$(dirname "$0")/lib/srp-sample.py" "$b" "$pool" "$users" "$sample" 7 new "cluster B"
