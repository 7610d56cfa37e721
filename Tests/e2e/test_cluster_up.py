"""`cognate cluster up` as a user runs it: one command, a definition, Ctrl-C."""
import json
import os
import random
import signal
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.request

from conftest import COGNATE, NodeCluster, free_ports


def start(args, cwd=None):
    """Starts `cognate cluster up ARGS`; returns the process and what it printed until it
    said it is ready (or exited, or 60 s passed)."""
    up = subprocess.Popen([COGNATE, "cluster", "up"] + args, cwd=cwd,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines = []
    deadline = time.time() + 60
    while time.time() < deadline:
        line = up.stdout.readline()
        lines.append(line)
        if "Ctrl-C stops the cluster" in line or line == "" and up.poll() is not None:
            break
    return up, "".join(lines)


def test_cluster_up_starts_every_node_waits_for_leaders_and_stops_on_sigterm(tmp_path):
    os.makedirs(tmp_path / "template", exist_ok=True)
    template = NodeCluster(str(tmp_path / "template"))  # only for its free ports and TOML
    data = str(tmp_path / "data")
    up, out = start(["--config", template.config, "--data", data, "--fronts", "0"])
    assert "every shard has a leader" in out, out
    config = os.path.join(data, "cluster.toml")
    put = subprocess.run([COGNATE, "kv", "put", "--config", config, "greeting", "hello"], capture_output=True, text=True)
    assert put.stdout.strip() == "ok", put
    up.send_signal(signal.SIGTERM)
    rest, _ = up.communicate(timeout=30)
    assert up.returncode == 0
    assert "cluster stopped" in rest

    # Data survives: a second run in the same directory still has the key.
    up2 = subprocess.Popen([COGNATE, "cluster", "up", "--config", template.config, "--data", data, "--fronts", "0"],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    while "Ctrl-C stops the cluster" not in up2.stdout.readline():
        assert up2.poll() is None
    get = subprocess.run([COGNATE, "kv", "get", "--config", config, "greeting"], capture_output=True, text=True)
    assert get.stdout.strip() == "hello"
    up2.send_signal(signal.SIGINT)
    up2.communicate(timeout=30)
    assert up2.returncode == 0


def test_cluster_up_outside_the_repository_uses_the_built_in_definition(tmp_path):
    # No Cluster/local.toml in this directory: the copy in the binary (ports 7101-7103) is used
    # and the data lands under ./.cognate here.
    up, out = start(["--fronts", "0"], cwd=str(tmp_path))
    try:
        assert "using the copy built into the binary" in out, out
        assert "every shard has a leader" in out, out
        assert os.path.isdir(tmp_path / ".cognate" / "node1"), out
        status = subprocess.run([COGNATE, "status", "--json"], cwd=str(tmp_path), capture_output=True, text=True, timeout=30)
        assert status.returncode == 0, status
        assert '"leader"' in status.stdout, status.stdout
    finally:
        up.send_signal(signal.SIGTERM)
        rest, _ = up.communicate(timeout=30)
    assert up.returncode == 0, rest


def test_cluster_up_refuses_ports_in_use_and_stops_cleanly_when_interrupted_while_starting(tmp_path):
    os.makedirs(tmp_path / "template", exist_ok=True)
    template = NodeCluster(str(tmp_path / "template"))
    data = str(tmp_path / "data")

    # Something already listens on node 2's address: refused before anything starts, by name.
    taken = socket.socket()
    taken.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    taken.bind(("127.0.0.1", template.peer[2]))
    taken.listen()
    try:
        r = subprocess.run([COGNATE, "cluster", "up", "--config", template.config, "--data", data, "--fronts", "0"],
                           capture_output=True, text=True, timeout=30)
    finally:
        taken.close()
    assert r.returncode != 0
    assert f"127.0.0.1:{template.peer[2]}, node 2's peer and client address, is already in use" in r.stderr, r.stderr
    assert not os.path.exists(os.path.join(data, "node1")), "a node was started anyway"

    # SIGTERM while the nodes are starting: every child is stopped, none left behind.
    up = subprocess.Popen([COGNATE, "cluster", "up", "--config", template.config, "--data", data, "--fronts", "0"],
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    time.sleep(0.3)
    up.send_signal(signal.SIGTERM)
    out, _ = up.communicate(timeout=30)
    assert up.returncode == 0, out
    assert "stopped during start-up" in out or "cluster stopped" in out, out
    left = subprocess.run(["pgrep", "-f", os.path.join(data, "cluster.toml")], capture_output=True, text=True)
    assert left.stdout.strip() == "", f"processes left running: {left.stdout}"


def loopback_definition(directory, nodes=3, extra=()):
    """A loopback definition whose nodes' ports leave room after them: peers on base+1…, admin
    on base+21…, the front on base+40, every one of them free when this returns."""
    for _ in range(100):
        base = random.randrange(20000, 60000)
        wanted = [base + k for k in range(1, 11)] + [base + 20 + k for k in range(1, 11)] + [base + 40]
        free = True
        for port in wanted:
            s = socket.socket()
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                free = False
            finally:
                s.close()
            if not free:
                break
        if free:
            break
    else:
        raise AssertionError("found no run of free loopback ports")
    lines = ['region = "us-east-1"', "shards = 3", "replication = 3", "tick_ms = 50",
             f'front = "127.0.0.1:{base + 40}"', 'admin_keys = ["cognate:cognate-local-secret"]',
             'master_key_file = "master.key"', *extra, "[tls]", 'dir = "tls"']
    for i in range(1, nodes + 1):
        lines += ["[[nodes]]", f"id = {i}", f'peer = "127.0.0.1:{base + i}"', f'admin = "127.0.0.1:{base + 20 + i}"',
                  f'data = "node{i}"']
    path = os.path.join(directory, "three.toml")
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    return path, base


def cognito(endpoint):
    """A boto3 client for the launcher's front, with its local admin key."""
    import boto3
    from botocore.config import Config
    return boto3.client("cognito-idp", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="cognate",
                        aws_secret_access_key="cognate-local-secret", config=Config(retries={"max_attempts": 3}))


def test_cluster_up_adds_nodes_past_a_loopback_definition_and_refuses_to_grow_existing_data(tmp_path):
    template, base = loopback_definition(str(tmp_path))
    data = str(tmp_path / "data")
    up, out = start(["--config", template, "--data", data, "--nodes", "5"])
    try:
        assert "every shard has a leader" in out, out
        # Nodes 4 and 5 take the next ports after node 3's.
        assert f"127.0.0.1:{base + 5}" in out and f"http://127.0.0.1:{base + 25}/status" in out, out
        status = subprocess.run([COGNATE, "status", "--config", os.path.join(data, "cluster.toml"), "--json"],
                                capture_output=True, text=True, timeout=30)
        assert status.returncode == 0, status
        nodes = json.loads(status.stdout)
        assert len(nodes) == 5, status.stdout
        # The shard count is the definition's: user → shard hashing does not change.
        assert {s["shard"] for n in nodes for s in n["shards"]} == {0, 1, 2, 3}, status.stdout
        idp = cognito(f"http://127.0.0.1:{base + 40}")
        pool = idp.create_user_pool(PoolName="five")["UserPool"]["Id"]
        for k in range(6):
            idp.admin_create_user(UserPoolId=pool, Username=f"user{k}", MessageAction="SUPPRESS")
    finally:
        up.send_signal(signal.SIGINT)
        rest, _ = up.communicate(timeout=30)
    assert up.returncode == 0, rest

    # A sixth node would join shards whose Raft groups do not list it: refused, nothing started.
    grow = subprocess.run([COGNATE, "cluster", "up", "--config", template, "--data", data, "--nodes", "6"],
                          capture_output=True, text=True, timeout=60)
    assert grow.returncode != 0
    assert "a node joins a running cluster only through Raft membership changes" in grow.stderr, grow.stderr
    assert "cognate cluster add-node --id 6" in grow.stderr, grow.stderr
    assert not os.path.exists(os.path.join(data, "node6"))

    # The same five come back with every user.
    up, out = start(["--config", template, "--data", data, "--nodes", "5"])
    try:
        assert "every shard has a leader" in out, out
        idp = cognito(f"http://127.0.0.1:{base + 40}")
        names = sorted(u["Username"] for u in idp.list_users(UserPoolId=pool)["Users"])
        assert names == [f"user{k}" for k in range(6)], names
    finally:
        up.send_signal(signal.SIGINT)
        rest, _ = up.communicate(timeout=30)
    assert up.returncode == 0, rest


def wait_for_line(up, needle, timeout=60):
    """Reads cluster up's output until a line containing `needle`; returns what it read."""
    seen, found = [], threading.Event()

    def read():
        for line in up.stdout:
            seen.append(line)
            if needle in line:
                found.set()
                return

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    if not found.wait(timeout):
        raise AssertionError(f"no line with {needle!r} in {''.join(seen)!r}")
    return "".join(seen)


def test_cluster_up_says_which_child_died_and_how_and_restarts_it(tmp_path):
    template, base = loopback_definition(str(tmp_path))
    data = str(tmp_path / "data")
    up, out = start(["--config", template, "--data", data])
    try:
        assert "every shard has a leader" in out, out
        idp = cognito(f"http://127.0.0.1:{base + 40}")
        pool = idp.create_user_pool(PoolName="supervised")["UserPool"]["Id"]
        victim = subprocess.run(["pgrep", "-f", f"node --config {data}/cluster.toml --id 2"],
                                capture_output=True, text=True).stdout.split()
        assert len(victim) == 1, victim
        os.kill(int(victim[0]), signal.SIGKILL)
        said = wait_for_line(up, "restarting node 2 in 1 s")
        assert "node 2 was killed by signal 9" in said, said
        # It is back: its status answers, and it serves as a replica again.
        deadline = time.time() + 30
        while time.time() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{base + 22}/status", timeout=1) as r:
                    if json.load(r)["shards"]:
                        break
            except OSError:
                time.sleep(0.3)
        else:
            raise AssertionError("node 2 did not come back")
        idp.admin_create_user(UserPoolId=pool, Username="after-restart", MessageAction="SUPPRESS")
        # The front too.
        front = subprocess.run(["pgrep", "-f", f"front --config {data}/cluster.toml"], capture_output=True, text=True).stdout.split()
        os.kill(int(front[0]), signal.SIGKILL)
        assert "front 1 was killed by signal 9" in wait_for_line(up, "restarting front 1")
    finally:
        up.send_signal(signal.SIGINT)
        rest, _ = up.communicate(timeout=30)
    assert up.returncode == 0, rest


def test_cluster_up_keeps_codes_in_the_local_inbox_and_prints_them(tmp_path):
    """The journey with no mail server: sign up, read the code from the console or
    /_cognate/inbox, confirm, sign in."""
    template, base = loopback_definition(str(tmp_path), extra=["dev_inbox = true"])
    endpoint = f"http://127.0.0.1:{base + 40}"
    up, out = start(["--config", template, "--data", str(tmp_path / "data")])
    printed = []
    reader = threading.Thread(target=lambda: printed.extend(iter(up.stdout.readline, "")), daemon=True)
    reader.start()
    try:
        assert "every shard has a leader" in out, out
        idp = cognito(endpoint)
        pool = idp.create_user_pool(PoolName="inbox", AutoVerifiedAttributes=["email"])["UserPool"]["Id"]
        client = idp.create_user_pool_client(UserPoolId=pool, ClientName="app",
                                             ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH"])["UserPoolClient"]["ClientId"]
        r = idp.sign_up(ClientId=client, Username="alice", Password="Passw0rd!x",
                        UserAttributes=[{"Name": "email", "Value": "alice@example.com"}])
        assert r["CodeDeliveryDetails"]["Destination"] == "a***@e***"
        deadline = time.time() + 30
        while not any("for alice@example.com" in line for line in printed):
            assert time.time() < deadline, printed
            time.sleep(0.05)
        line = next(line for line in printed if "for alice@example.com" in line)
        code = line.split("cognate: code ")[1].split()[0]
        with urllib.request.urlopen(f"{endpoint}/_cognate/inbox?to=alice@example.com") as resp:
            inbox = json.load(resp)
            # No CORS: a page of another site cannot read the codes.
            assert resp.headers.get("Access-Control-Allow-Origin") is None, dict(resp.headers)
        assert inbox["messages"][0]["code"] == code and inbox["messages"][0]["kind"] == "signUp", inbox
        # A DNS name pointed at this front (DNS rebinding) is not served the inbox.
        rebound = urllib.request.Request(f"{endpoint}/_cognate/inbox", headers={"Host": f"evil.example:{base + 40}"})
        try:
            urllib.request.urlopen(rebound)
            raise AssertionError("the inbox answered a foreign Host")
        except urllib.error.HTTPError as e:
            assert e.code == 421, e
        # A front started by hand from the same definition (dev_inbox = true in it) has no inbox.
        port = free_ports(1)[0]
        by_hand = subprocess.Popen([COGNATE, "front", "--config", str(tmp_path / "data" / "cluster.toml"),
                                    "--listen", f"127.0.0.1:{port}"], stdout=subprocess.DEVNULL,
                                   stderr=subprocess.DEVNULL)
        try:
            deadline = time.time() + 30
            while True:
                try:
                    urllib.request.urlopen(f"http://127.0.0.1:{port}/_cognate/inbox")
                    raise AssertionError("a front without --dev-inbox served the inbox")
                except urllib.error.HTTPError as e:
                    assert e.code == 404, e
                    break
                except urllib.error.URLError:
                    assert time.time() < deadline
                    time.sleep(0.2)
        finally:
            by_hand.terminate()
            by_hand.wait(timeout=15)
        # With a mail channel configured, --dev-inbox is refused at start.
        refused = subprocess.run([COGNATE, "front", "--config", str(tmp_path / "data" / "cluster.toml"),
                                  "--listen", f"127.0.0.1:{port}", "--dev-inbox"], capture_output=True, text=True,
                                 timeout=60, env=dict(os.environ, COGNATE_SMTP_URL="smtp://127.0.0.1:2525"))
        assert refused.returncode != 0 and "email (SMTP) is configured" in refused.stderr, refused
        assert inbox["messages"][0]["text"] == f"Your verification code is {code}. "
        page = urllib.request.Request(f"{endpoint}/_cognate/inbox", headers={"Accept": "text/html"})
        with urllib.request.urlopen(page) as resp:
            assert resp.headers["Content-Type"].startswith("text/html") and code in resp.read().decode()
        idp.confirm_sign_up(ClientId=client, Username="alice", ConfirmationCode=code)
        tokens = idp.initiate_auth(ClientId=client, AuthFlow="USER_PASSWORD_AUTH",
                                   AuthParameters={"USERNAME": "alice", "PASSWORD": "Passw0rd!x"})
        assert "AccessToken" in tokens["AuthenticationResult"]
    finally:
        up.send_signal(signal.SIGINT)
        up.wait(timeout=30)
    assert up.returncode == 0


def test_a_node_back_with_a_wiped_data_directory_does_not_vote_until_it_has_the_log_again(tmp_path):
    """Amnesia: node 3 is killed, its data directory emptied, and `cluster up` starts it again
    under its id. Its new incarnation is recorded by each shard's leader, which makes it a
    learner until it has the log, then a voter again; no acknowledged write is lost, and
    with node 1 gone afterwards nodes 2 and 3 still serve every user."""
    import shutil
    template, base = loopback_definition(str(tmp_path))
    data = str(tmp_path / "data")
    up, out = start(["--config", template, "--data", data])

    def status(i):
        with urllib.request.urlopen(f"http://127.0.0.1:{base + 20 + i}/status", timeout=2) as r:
            return json.load(r)

    try:
        assert "every shard has a leader" in out, out
        idp = cognito(f"http://127.0.0.1:{base + 40}")
        pool = idp.create_user_pool(PoolName="amnesia")["UserPool"]["Id"]
        client = idp.create_user_pool_client(UserPoolId=pool, ClientName="c", ExplicitAuthFlows=[
            "ALLOW_ADMIN_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"])["UserPoolClient"]["ClientId"]
        users = [f"user{k}" for k in range(20)]
        for u in users:
            idp.admin_create_user(UserPoolId=pool, Username=u, MessageAction="SUPPRESS")
            idp.admin_set_user_password(UserPoolId=pool, Username=u, Password="Passw0rd!x", Permanent=True)
        # Every shard has recorded every member's incarnation.
        deadline = time.time() + 30
        while not all(len(s.get("incarnations") or {}) == 3 for s in status(1)["shards"]):
            assert time.time() < deadline, status(1)
            time.sleep(0.2)
        before = status(3)["incarnation"]
        pid = status(3)["pid"]
        os.kill(pid, signal.SIGKILL)
        shutil.rmtree(os.path.join(data, "node3"))
        wait_for_line(up, "restarting node 3")
        deadline = time.time() + 90
        while True:
            try:
                back = status(3)
                views = {}
                for i in (1, 2):
                    for s in status(i)["shards"]:
                        if s["role"] == "leader":
                            views[s["shard"]] = s
                if (back["incarnation"] != before and len(views) == 4
                        and all(v["incarnations"].get("3") == back["incarnation"] and 3 in v["voters"]
                                and not v.get("demoted") for v in views.values())):
                    break
            except OSError:
                pass
            assert time.time() < deadline, "node 3 did not become a voter again"
            time.sleep(0.3)
        # On the way it was a learner in each shard (the others' logs say so).
        logs = open(os.path.join(data, "node1.log")).read() + open(os.path.join(data, "node2.log")).read()
        demoted = {int(line.split("shard ")[1].split(":")[0]) for line in logs.splitlines()
                   if "members now voters [1, 2] learners [3]" in line}
        assert demoted == {0, 1, 2, 3}, demoted
        # Node 1 goes: nodes 2 and 3 are a majority, and every user is there.
        first = status(1)["pid"]
        os.kill(first, signal.SIGSTOP)
        try:
            for u in users:
                r = idp.admin_initiate_auth(UserPoolId=pool, ClientId=client, AuthFlow="ADMIN_USER_PASSWORD_AUTH",
                                            AuthParameters={"USERNAME": u, "PASSWORD": "Passw0rd!x"})
                assert "AccessToken" in r["AuthenticationResult"], u
            idp.admin_create_user(UserPoolId=pool, Username="while-1-is-away", MessageAction="SUPPRESS")
        finally:
            os.kill(first, signal.SIGCONT)
    finally:
        up.send_signal(signal.SIGINT)
        up.wait(timeout=60)
    assert up.returncode == 0
