"""The node's port as a hostile peer sees it: mutual TLS with the cluster's CA, identities
from certificates, roles, bounded frames, and commands that cannot apply."""
import os
import signal
import socket
import ssl
import struct
import subprocess
import time

from conftest import COGNATE, NodeCluster


def frame(kind, payload, version=1):
    return struct.pack(">IBB", len(payload) + 2, version, kind) + payload


def closed_by_server(sock, timeout=10):
    sock.settimeout(timeout)
    try:
        while True:
            data = sock.recv(4096)
            if data == b"":
                return True
    except (ConnectionResetError, ssl.SSLError, BrokenPipeError):
        return True
    except socket.timeout:
        return False


def tls_connect(port, tls_dir, name="front", ca=None, certificate=True):
    """A TLS connection to a node as the holder of `name`.pem/.key from `tls_dir`."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.load_verify_locations(ca or os.path.join(tls_dir, "ca.pem"))
    if certificate:
        context.load_cert_chain(os.path.join(tls_dir, f"{name}.pem"), os.path.join(tls_dir, f"{name}.key"))
    raw = socket.create_connection(("127.0.0.1", port), timeout=10)
    return context.wrap_socket(raw)


def u64(v):
    return struct.pack(">Q", v)


def log_with(c, i, *needles, timeout=30):
    """Node i's log once it holds every one of `needles` (a liveness bound, not a speed)."""
    deadline = time.time() + timeout
    while True:
        log = c.log(i)
        if all(n in log for n in needles) or time.time() > deadline:
            return log
        time.sleep(0.1)


def raft_append(sender, to, term, key, value):
    """A `.raft` frame payload: one append for shard 1 carrying a key-value put."""
    command = bytes([1]) + struct.pack(">I", len(key)) + key + struct.pack(">I", len(value)) + value
    data = b"\x01" * 16 + command  # request id, then the command
    entry = u64(term) + u64(2) + bytes([0]) + struct.pack(">I", len(data)) + data
    message = (bytes([4]) + u64(sender) + u64(to) + u64(term) + u64(term) + u64(1) + u64(2) + b"\x00" + u64(0) + u64(0)
               + struct.pack(">I", 0) + struct.pack(">I", 1) + entry + u64(0))  # last: the sender's incarnation
    return struct.pack(">I", 1) + struct.pack(">I", 1) + message


def test_plaintext_garbage_is_refused_by_the_tls_layer_and_the_node_goes_on(node_cluster):
    c = node_cluster()
    c.start_all()
    port = c.peer[1]
    for data in [b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", struct.pack(">I", 0xFFFFFFF0) + b"\x01\x02" * 200,
                 frame(10, b"\x00" * 40)]:
        s = socket.create_connection(("127.0.0.1", port))
        s.sendall(data)
        assert closed_by_server(s)
        s.close()
    # Silence after connecting: the handshake timeout closes it.
    s = socket.create_connection(("127.0.0.1", port))
    assert closed_by_server(s, timeout=15)
    s.close()
    assert c.kv("put", "after-garbage", "still-here").stdout.strip() == "ok"
    assert c.kv("get", "after-garbage").stdout.strip() == "still-here"


def test_frames_past_the_role_limit_or_malformed_close_only_that_connection(node_cluster):
    c = node_cluster()
    c.start_all()
    port = c.peer[1]
    bad_inputs = {
        "oversized for a front": struct.pack(">I", 3 << 20) + b"\x01\x0a",
        "wrong version": frame(10, b"\x00" * 8, version=9),
        "unknown kind": frame(77, b"\x00" * 8),
        "malformed request": frame(10, b"\x01\x02"),
    }
    for name, data in bad_inputs.items():
        s = tls_connect(port, c.tls)
        s.sendall(data)
        assert closed_by_server(s), name
        s.close()
    # Truncated: half a frame, then the client hangs up; the node logs it and goes on.
    s = tls_connect(port, c.tls)
    s.sendall(struct.pack(">IBB", 100, 1, 10) + b"\x00" * 10)
    s.close()
    log = log_with(c, 1, "exceeds the 2097152-byte limit", "frame version 9", "unknown frame kind 77",
                   "closed inside a frame")
    assert "exceeds the 2097152-byte limit" in log and "frame version 9" in log and "unknown frame kind 77" in log
    assert "closed inside a frame" in log
    assert c.kv("put", "after-garbage", "still-here").stdout.strip() == "ok"
    for i in c.ids:
        assert all(s["leader"] != 0 for s in c.status(i)["shards"])


def test_hostile_peers_are_refused_logged_and_nothing_they_send_applies(node_cluster, tmp_path):
    c = node_cluster()
    c.start_all()
    port = c.peer[1]
    term = max(s["term"] for s in c.status(1)["shards"])

    # No certificate at all: the handshake fails.
    s = tls_connect(port, c.tls, certificate=False)
    assert closed_by_server(s)

    # A certificate from another CA: refused by the node (and the node's by us).
    os.makedirs(tmp_path / "other")
    other = NodeCluster(str(tmp_path / "other"), nodes=1)
    try:
        s = tls_connect(port, other.tls, name="node1", ca=os.path.join(c.tls, "ca.pem"))
        assert closed_by_server(s)
    except ssl.SSLError:
        pass  # refused during the handshake itself

    # The front's certificate sending node traffic: closed, by name of its role.
    s = tls_connect(port, c.tls, name="front")
    s.sendall(frame(1, u64(2)))
    assert closed_by_server(s)
    s = tls_connect(port, c.tls, name="front")
    s.sendall(frame(2, raft_append(2, 1, term + 5, b"pwned-front", b"x")))
    assert closed_by_server(s)

    # Node 3's certificate claiming to be node 2, by hello and by raft messages.
    s = tls_connect(port, c.tls, name="node3")
    s.sendall(frame(1, u64(2)))
    assert closed_by_server(s)
    s = tls_connect(port, c.tls, name="node3")
    s.sendall(frame(2, raft_append(2, 1, term + 5, b"pwned-node", b"x")))
    assert closed_by_server(s)

    log = log_with(c, 1, "may send client requests only", "hello as node 2 from the certificate of node 3",
                   "raft messages not from node 3")
    assert "front front" in log and "may send client requests only" in log, log[-2000:]
    assert "hello as node 2 from the certificate of node 3" in log
    assert "raft messages not from node 3" in log
    # Nothing they sent applied, and no term moved for it.
    for key in ["pwned-front", "pwned-node"]:
        assert c.kv("get", key).stdout.strip() == "(absent)", key
    assert all(s["term"] < term + 5 for s in c.status(1)["shards"])
    assert c.kv("put", "after-hostile", "ok").stdout.strip() == "ok"


def test_the_kv_harness_is_refused_unless_the_definition_enables_it(node_cluster):
    c = node_cluster(kv_harness=False)
    c.start_all()
    put = c.kv("put", "k", "v", check=False)
    assert put.returncode != 0
    assert "key-value harness is disabled" in put.stderr + put.stdout


def test_a_command_that_cannot_apply_is_rejected_alike_on_every_replica_and_nodes_survive_restarts(node_cluster):
    c = node_cluster()
    c.start_all()
    # A key LMDB refuses (over 511 bytes): every replica rejects it at apply, none stops.
    put = c.kv("put", "k" * 600, "v")
    assert put.stdout.strip() == "rejected", put

    def rejected(i):
        metric = [l for l in c.metrics(i).splitlines() if l.startswith("cognate_raft_rejected_entries_total")]
        return float(metric[0].split()[-1]) if metric else 0

    deadline = time.time() + 10  # followers apply within a tick or two
    while time.time() < deadline and not all(rejected(i) >= 1 for i in c.ids):
        time.sleep(0.1)
    for i in c.ids:
        assert c.procs[i].poll() is None, f"node {i} died"
        assert rejected(i) >= 1, i
        assert "could not apply and was rejected" in c.log(i)
    # Every node restarts over the committed entry and serves.
    c.stop_all()
    c.start_all()
    assert c.kv("put", "after-restart", "ok").stdout.strip() == "ok"
    assert c.kv("get", "after-restart").stdout.strip() == "ok"


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS")


def test_a_flood_of_hostile_connections_keeps_memory_bounded_and_the_node_serving(node_cluster):
    """Connections that never authenticate fill only their own pool (256 at once, 32 from one
    address, 3 s each): peers, fronts and tools keep their places, the node's memory stays
    bounded, and the liveness probe (a file the node touches) says it is alive throughout."""
    import resource
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 8192), hard))
    c = node_cluster()
    c.start_all()
    port, pid = c.peer[1], c.procs[1].pid
    alive = os.path.join(c.directory, "node1", "alive")
    before = rss_kib(pid)
    flood = []
    try:
        # From 40 loopback addresses, 40 connections each: past the per-address cap and the
        # pool's total.
        for a in range(40):
            for i in range(40):
                try:
                    s = socket.create_connection(("127.0.0.1", port), timeout=5,
                                                 source_address=(f"127.0.{a // 200 + 1}.{a % 200 + 1}", 0))
                except OSError:
                    break
                # Half say nothing, half start a 16 KiB TLS record and stall.
                if i % 2 == 1:
                    try:
                        s.sendall(b"\x16\x03\x01\x40\x00" + os.urandom(512))
                    except OSError:
                        pass
                flood.append(s)
        assert len(flood) >= 1000, len(flood)
        # Authenticated clients still get in and are served while the flood holds its places.
        for k in range(5):
            assert c.kv("put", f"during-flood-{k}", "ok").stdout.strip() == "ok"
        grown = rss_kib(pid) - before
        assert grown < 200 * 1024, f"RSS grew by {grown} KiB"
        probe = subprocess.run([COGNATE, "probe", "--file", alive, "--max-age", "5"], capture_output=True, text=True)
        assert probe.returncode == 0, probe
        # The handshake timeout (3 s) closes every one of them: each is seen closed within a
        # generous bound (30 s for all).
        deadline = time.time() + 30
        for s in flood:
            assert closed_by_server(s, timeout=max(0.1, deadline - time.time())), "a connection outlived the bound"
    finally:
        for s in flood:
            s.close()
    assert c.kv("get", "during-flood-4").stdout.strip() == "ok"
    log = c.log(1)
    assert "in their handshake from 127.0." in log and "already 256 connections in their handshake" in log, log[-3000:]
    # A node whose loop stops is seen dead by the probe within its window.
    os.kill(pid, signal.SIGSTOP)
    try:
        time.sleep(3)
        probe = subprocess.run([COGNATE, "probe", "--file", alive, "--max-age", "2"], capture_output=True, text=True)
        assert probe.returncode == 1 and "last touched" in probe.stdout, probe
    finally:
        os.kill(pid, signal.SIGCONT)


def test_a_full_disk_stops_that_node_with_the_reason_and_loses_nothing_acknowledged(node_cluster, tmp_path):
    if os.geteuid() != 0:
        import pytest
        pytest.skip("mounting a small tmpfs for node 3's data needs root (CI runs as root)")
    small = str(tmp_path / "small")
    os.makedirs(small)
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=96m", "tmpfs", small], check=True)
    try:
        c = node_cluster(extra=[])
        # Node 3's data lives on the 96 MiB file system (its write-ahead log alone takes 64).
        text = open(c.config).read().replace(f'data = "{c.directory}/node3"', f'data = "{small}/node3"')
        open(c.config, "w").write(text)
        c.start_all()
        acked = os.path.join(str(tmp_path), "acked.txt")
        load = c.kv("load", "--keys", "400", "--concurrency", "4", "--value-size", "262144", "--acked", acked,
                    "--json", check=False, timeout=600)
        deadline = time.time() + 30
        while time.time() < deadline and c.procs[3].poll() is None:
            time.sleep(0.2)
        assert c.procs[3].poll() == 74, (c.procs[3].poll(), c.log(3)[-2000:])
        log = c.log(3)
        assert "storage failure" in log and "stopping node 3" in log, log[-2000:]
        assert "Fatal error" not in log
        # The other two went on; every acknowledged write is there.
        del c.procs[3]
        verify = c.kv("verify", "--acked", acked, "--value-size", "262144", "--wait", "1", "--json", check=False)
        import json
        report = json.loads(verify.stdout)
        assert report["missingKeys"] == [] and report["wrongValues"] == [], report
        assert report["checkedKeys"] > 0
    finally:
        subprocess.run(["umount", "-l", small], check=False)


def client_call(sock, body, correlation=7):
    """Sends one client request frame and reads its response: (kind, payload after it)."""
    sock.sendall(frame(10, u64(correlation) + body))
    header = b""
    while len(header) < 6:
        chunk = sock.recv(6 - len(header))
        assert chunk, "the node closed the connection"
        header += chunk
    length = struct.unpack(">I", header[:4])[0] - 2
    payload = b""
    while len(payload) < length:
        payload += sock.recv(length - len(payload))
    assert header[5] == 11 and struct.unpack(">Q", payload[:8])[0] == correlation
    return payload[8], payload[9:]


def blob(b):
    return struct.pack(">I", len(b)) + b


def test_a_fronts_certificate_sends_only_user_pool_reads_and_writes(node_cluster):
    """Least privilege: with a front's certificate (stolen, say) a client can make the
    API's reads and writes, but not change membership, take a backup copy, drive a
    reshard or use the key-value harness; the operator's certificate can."""
    c = node_cluster()
    c.start_all()
    leader = c.leader_of(1)
    port = c.peer[leader]
    request_id = struct.pack(">Q", int(time.time() * 1000)) + os.urandom(8)
    kv_put = bytes([1]) + blob(b"front-key") + blob(b"x")
    operator_only = {
        "a membership step (drop a replica)": bytes([6]) + struct.pack(">I", 1) + bytes([3]),
        "a backup copy": bytes([5]) + struct.pack(">I", 1) + u64(0) + u64(0),
        "a key-value write": bytes([1]) + struct.pack(">I", 1) + blob(request_id) + blob(kv_put),
        "a reshard's layout": bytes([1]) + struct.pack(">I", 0) + blob(request_id)
        + blob(b'U{"setLayout":{"_0":{"shards":9}}}'),
        "a reshard's page of moving records": bytes([2]) + struct.pack(">I", 1)
        + blob(b'U{"movingRecords":{"after":null,"limit":10,"shards":2}}'),
    }
    for name, body in operator_only.items():
        s = tls_connect(port, c.tls, name="front")
        kind, rest = client_call(s, body)
        s.close()
        assert kind == 3 and b"may not send this request" in rest, (name, kind, rest)
    # What the API needs goes through: status, and a user-pool read.
    s = tls_connect(port, c.tls, name="front")
    assert client_call(s, bytes([4]))[0] == 0
    kind, rest = client_call(s, bytes([2]) + struct.pack(">I", 1)
                             + blob(b'U{"user":{"canonical":"nobody","poolId":"us-east-1_x"}}'), correlation=8)
    assert kind == 0, rest
    s.close()
    # The operator's certificate does all of it.
    s = tls_connect(port, c.tls, name="operator")
    kind, rest = client_call(s, bytes([1]) + struct.pack(">I", 1) + blob(request_id) + blob(kv_put))
    assert kind == 0, rest
    kind, rest = client_call(s, bytes([4]), correlation=9)
    assert kind == 0
    # An entry's time is its request id's clock: one a day off the leader's is refused.
    stale = struct.pack(">Q", 1000) + os.urandom(8)
    kind, rest = client_call(s, bytes([1]) + struct.pack(">I", 1) + blob(stale) + blob(kv_put), correlation=10)
    assert kind == 3 and b"check the clocks" in rest, rest
    s.close()
    assert all(len(s["voters"]) == 3 for s in c.status(leader)["shards"] if s["role"] == "leader")
    refusals = sum(float(l.split()[-1]) for l in c.metrics(leader).splitlines()
                   if l.startswith("cognate_refused_requests_total"))
    assert refusals == len(operator_only), refusals
