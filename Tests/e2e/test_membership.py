"""Membership online, as an operator runs it: `cognate cluster add-node / rebalance / move-replica /
remove-node` against a cluster `cognate cluster up` started, with users signing in by SRP throughout."""
import json
import os
import signal
import subprocess
import urllib.request

from pycognito.aws_srp import AWSSRP

from conftest import COGNATE
from test_cluster_up import cognito, loopback_definition, start


def cluster_command(config, *args, timeout=300):
    return subprocess.run([COGNATE, "cluster", *args, "--config", config], capture_output=True, text=True,
                          timeout=timeout)


def statuses(config):
    r = subprocess.run([COGNATE, "status", "--config", config, "--json"], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r
    return {n["node"]: n for n in json.loads(r.stdout)}


def leader_views(config):
    """shard → the leader's view of it (highest term)."""
    views = {}
    for node in statuses(config).values():
        for s in node["shards"]:
            if s["role"] == "leader" and (s["shard"] not in views or views[s["shard"]]["term"] < s["term"]):
                views[s["shard"]] = s
    return views


def sign_in_all(idp, pool, client, users):
    for name, password in users.items():
        tokens = AWSSRP(username=name, password=password, pool_id=pool, client_id=client,
                        client=idp).authenticate_user()["AuthenticationResult"]
        assert tokens["AccessToken"], name
    try:
        AWSSRP(username=next(iter(users)), password="Wrong-Passw0rd!", pool_id=pool, client_id=client,
               client=idp).authenticate_user()
        raise AssertionError("a wrong password signed in")
    except idp.exceptions.NotAuthorizedException:
        pass


def test_nodes_join_rebalance_move_and_leave_while_users_sign_in(tmp_path):
    template, base = loopback_definition(str(tmp_path), nodes=5)
    with open(template) as f:
        text = f.read()
    for spare in (4, 5):
        text = text.replace(f'data = "node{spare}"', f'data = "node{spare}"\njoin = true')
    with open(template, "w") as f:
        f.write(text)
    data = str(tmp_path / "data")
    config = os.path.join(data, "cluster.toml")
    up, out = start(["--config", template, "--data", data])
    try:
        assert "every shard has a leader" in out, out
        # The spares hold nothing until they are added.
        before = statuses(config)
        assert before[4]["shards"] == [] and before[5]["shards"] == [], before
        idp = cognito(f"http://127.0.0.1:{base + 40}")
        pool = idp.create_user_pool(PoolName="grow")["UserPool"]["Id"]
        client = idp.create_user_pool_client(UserPoolId=pool, ClientName="app",
                                             ExplicitAuthFlows=["ALLOW_USER_SRP_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"]
                                             )["UserPoolClient"]["ClientId"]
        users = {f"user{k}": f"Passw0rd!{k}" for k in range(24)}
        for name, password in users.items():
            idp.admin_create_user(UserPoolId=pool, Username=name, MessageAction="SUPPRESS")
            idp.admin_set_user_password(UserPoolId=pool, Username=name, Password=password, Permanent=True)

        # Refusals first: a node the definition does not list, one node moved onto itself.
        r = cluster_command(config, "add-node", "--id", "9")
        assert r.returncode != 0 and "not in the cluster definition" in r.stderr, r
        r = cluster_command(config, "move-replica", "--shard", "1", "--from", "2", "--to", "2")
        assert r.returncode != 0 and "the same node" in r.stderr, r

        r = cluster_command(config, "add-node", "--id", "4")
        assert r.returncode == 0, r
        assert "shard 0: node 4 added as a learner" in r.stdout and "shard 0: node 4 is a voter" in r.stdout, r.stdout
        r = cluster_command(config, "add-node", "--id", "5", "--shard", "2")
        assert r.returncode == 0, r
        assert "shard 2: node 5 is a voter" in r.stdout, r.stdout
        views = leader_views(config)
        assert views[0]["voters"] == [1, 2, 3, 4, 5] and views[2]["voters"] == [1, 2, 3, 5], views
        assert {s["shard"] for s in statuses(config)[5]["shards"]} == {0, 2}
        sign_in_all(idp, pool, client, users)

        # Rebalance: user-shard replicas per node differ by at most one; every shard keeps three voters.
        r = cluster_command(config, "rebalance")
        assert r.returncode == 0, r
        assert "rebalanced:" in r.stdout, r.stdout
        views = leader_views(config)
        counts = {n: sum(n in views[s]["voters"] for s in (1, 2, 3)) for n in range(1, 6)}
        assert max(counts.values()) - min(counts.values()) <= 1, (counts, views)
        assert all(len(views[s]["voters"]) >= 3 for s in (1, 2, 3)), views
        sign_in_all(idp, pool, client, users)

        # Move one replica by hand: the new node joins before the old one leaves, and the old one
        # deletes its copy.
        shard = 1
        source = views[shard]["voters"][0]
        target = next(n for n in range(1, 6) if n not in views[shard]["voters"])
        r = cluster_command(config, "move-replica", "--shard", str(shard), "--from", str(source), "--to", str(target))
        assert r.returncode == 0, r
        assert f"shard {shard}: node {target} is a voter" in r.stdout, r.stdout
        assert f"shard {shard}: node {source} removed" in r.stdout, r.stdout
        views = leader_views(config)
        assert target in views[shard]["voters"] and source not in views[shard]["voters"], views
        assert shard not in {s["shard"] for s in statuses(config)[source]["shards"]}
        sign_in_all(idp, pool, client, users)

        # A founding node leaves while it runs: its replicas move away and are deleted.
        r = cluster_command(config, "remove-node", "--id", "1")
        assert r.returncode == 0, r
        assert statuses(config)[1]["shards"] == [], r.stdout
        views = leader_views(config)
        assert all(1 not in views[s]["voters"] and len(views[s]["voters"]) >= 3 for s in (1, 2, 3)), views
        assert views[0]["voters"] == [2, 3, 4, 5], views
        sign_in_all(idp, pool, client, users)

        # A node the definition does not list: its certificate, then it runs with its own
        # addresses, which add-node puts into the cluster's replicated state; the front finds
        # it there once a shard moves onto it.
        certs = subprocess.run([COGNATE, "certs", "create", "--config", config, "--node", "6"], capture_output=True,
                               text=True, timeout=60)
        assert certs.returncode == 0 and "node6.pem" in certs.stdout, certs
        peer6, admin6 = f"127.0.0.1:{base + 6}", f"127.0.0.1:{base + 26}"
        with open(tmp_path / "node6.log", "w") as log6:
            node6 = subprocess.Popen([COGNATE, "node", "--config", config, "--id", "6", "--peer", peer6, "--admin",
                                      admin6, "--data", str(tmp_path / "node6")], stdout=log6, stderr=subprocess.STDOUT)
        try:
            r = cluster_command(config, "add-node", "--id", "6")
            assert r.returncode != 0 and "give its addresses (--peer, --admin)" in r.stderr, r
            r = cluster_command(config, "add-node", "--id", "6", "--peer", peer6, "--admin", admin6)
            assert r.returncode == 0, r
            assert "shard 0: node 6 is a voter" in r.stdout, r.stdout
            source = leader_views(config)[2]["voters"][-1]
            r = cluster_command(config, "move-replica", "--shard", "2", "--from", str(source), "--to", "6")
            assert r.returncode == 0, r
            nodes = statuses(config)
            assert 6 in nodes and {s["shard"] for s in nodes[6]["shards"]} == {0, 2}, nodes.keys()
            assert nodes[2]["peers"]["6"] == {"peer": peer6, "admin": admin6}, nodes[2]
            assert 6 in leader_views(config)[2]["voters"]
            sign_in_all(idp, pool, client, users)
            r = cluster_command(config, "remove-node", "--id", "6")
            assert r.returncode == 0, r
            # Out of every shard, nobody names it any more; it says so itself on its admin address.
            assert 6 not in statuses(config)
            with urllib.request.urlopen(f"http://{admin6}/status", timeout=10) as answer:
                assert json.load(answer)["shards"] == [], r.stdout
        finally:
            node6.send_signal(signal.SIGTERM)
            node6.wait(timeout=30)
        views = leader_views(config)
        assert all(6 not in views[s]["voters"] and len(views[s]["voters"]) >= 3 for s in (0, 1, 2, 3)), views
        members = {s: sorted(v["voters"]) for s, v in views.items()}
        sign_in_all(idp, pool, client, users)
    finally:
        up.send_signal(signal.SIGINT)
        rest, _ = up.communicate(timeout=60)
    assert up.returncode == 0, rest

    # The membership is Raft state: a restart finds it as it was, and node 1 founds nothing again.
    up, out = start(["--config", template, "--data", data])
    try:
        assert "every shard has a leader" in out, out
        assert {s: sorted(v["voters"]) for s, v in leader_views(config).items()} == members
        assert statuses(config)[1]["shards"] == []
        idp = cognito(f"http://127.0.0.1:{base + 40}")
        sign_in_all(idp, pool, client, users)

        # A node that stops answering is removed without it. When it comes back it never
        # heard of its removal, so it keeps its replicas (a node deletes only a replica its
        # group let go of), but the cluster refuses its certificate: they stay inert, and it
        # cannot be added back under its old id.
        dead = 2
        pid = statuses(config)[dead]["pid"]
        os.kill(pid, signal.SIGSTOP)
        try:
            r = cluster_command(config, "remove-node", "--id", str(dead))
            assert r.returncode == 0, r
            assert "is unreachable" in r.stdout or "did not delete" in r.stdout, r.stdout
            views = leader_views(config)
            assert all(dead not in views[s]["voters"] for s in (0, 1, 2, 3)), views
            assert all(len(views[s]["voters"]) >= 3 for s in (1, 2, 3)), views
            sign_in_all(idp, pool, client, users)
        finally:
            os.kill(pid, signal.SIGCONT)
        r = cluster_command(config, "remove-node", "--id", str(dead))
        assert r.returncode == 0, r
        # Usually it never heard of its removal and keeps its replicas, inert. But what its
        # leaders sent before they let it go waits in its sockets while it is stopped, and may
        # tell it: then it has deleted them, and there is nothing left to say.
        heard = statuses(config)[dead]["shards"] == []
        assert heard or "stays inert" in r.stdout or "keeps its replicas, inert" in r.stdout, r.stdout
        views = leader_views(config)
        assert all(dead not in views[s]["voters"] + views[s].get("learners", []) for s in (0, 1, 2, 3)), views
        r = cluster_command(config, "add-node", "--id", str(dead))
        assert r.returncode != 0 and "was removed from the cluster" in (r.stdout + r.stderr), r
        sign_in_all(idp, pool, client, users)

        # Three nodes left, three replicas per shard: a fourth removal has nowhere to move them.
        views = leader_views(config)
        assert all(sorted(views[s]["voters"]) == [3, 4, 5] for s in (0, 1, 2, 3)), views
        r = cluster_command(config, "remove-node", "--id", "3")
        assert r.returncode != 0 and "no live node outside its members" in r.stderr, r
        assert all(sorted(v["voters"]) == [3, 4, 5] for v in leader_views(config).values())
    finally:
        up.send_signal(signal.SIGINT)
        rest, _ = up.communicate(timeout=60)
    assert up.returncode == 0, rest
