# Sourced by the benchmark scripts that run three real nodes on loopback.

# N free loopback ports, space-separated.
free_ports() {
  python3 - "$1" <<'PY'
import socket, sys
ss = [socket.socket() for _ in range(int(sys.argv[1]))]
for s in ss: s.bind(("127.0.0.1", 0))
print(*[s.getsockname()[1] for s in ss])
PY
}

# The [[nodes]] tables of a three-node definition with data under DIR:
#   node_tables DIR PEER1 PEER2 PEER3 ADMIN1 ADMIN2 ADMIN3
node_tables() {
  local dir=$1; shift
  local peers=("$1" "$2" "$3") admins=("$4" "$5" "$6")
  for i in 1 2 3; do
    printf '[[nodes]]\nid = %s\npeer = "127.0.0.1:%s"\nadmin = "127.0.0.1:%s"\ndata = "%s/node%s"\n' \
      "$i" "${peers[i-1]}" "${admins[i-1]}" "$dir" "$i"
  done
}

# The definition's TLS table and master key file under DIR (print after the top-level keys,
# before the node tables), and the files themselves, made by the build under test:
#   secrets_table DIR;  make_secrets BIN CONFIG
secrets_table() {
  printf 'master_key_file = "%s/master.key"\nkv_harness = true\n[tls]\ndir = "%s/tls"\n' "$1" "$1"
}
make_secrets() {
  "$1" certs create --config "$2" >/dev/null
  "$1" keys create --config "$2" >/dev/null
}

# A three-node definition with a front at DIR/cluster.toml (region us-east-1, 3 shards,
# tick 50 ms, the local admin key), its certificates and master key made by BIN; sets
# $front_port:
#   three_node_definition DIR BIN
three_node_definition() {
  local dir=$1 bin=$2
  mkdir -p "$dir"
  read -r p1 p2 p3 a1 a2 a3 front_port < <(free_ports 7)
  {
    printf 'region = "us-east-1"\nshards = 3\nreplication = 3\ntick_ms = 50\nfront = "127.0.0.1:%s"\n' "$front_port"
    printf 'admin_keys = ["cognate:cognate-local-secret"]\n'
    secrets_table "$dir"
    node_tables "$dir" $p1 $p2 $p3 $a1 $a2 $a3
  } > "$dir/cluster.toml"
  make_secrets "$bin" "$dir/cluster.toml"
}
