"""The storage node, as real processes on 127.0.0.1 driven through the client RPC."""
import json
import os
import signal
import socket
import struct
import subprocess
import time

from conftest import COGNATE


def test_sigkill_of_a_leader_midway_loses_no_acknowledged_write(node_cluster, tmp_path):
    c = node_cluster()
    c.start_all()
    acked = os.path.join(str(tmp_path), "acked.txt")
    load = subprocess.Popen(
        [COGNATE, "kv", "load", "--config", c.config, "--keys", "10000", "--concurrency", "32",
         "--acked", acked, "--json"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    # Midway: SIGKILL the leader of shard 1, then bring it back.
    time.sleep(1.5)
    victim = c.leader_of(1)
    assert victim is not None
    assert load.poll() is None, "the load finished before the fault; make it longer"
    c.kill(victim, signal.SIGKILL)
    time.sleep(1.0)
    c.start(victim)
    out, err = load.communicate(timeout=600)
    summary = json.loads(out)
    assert summary["acknowledged"] >= 9000, summary
    assert summary["acknowledged"] + summary["failed"] == 10000

    c.wait_for_leaders()
    verify = c.kv("verify", "--acked", acked, "--json", check=False)
    report = json.loads(verify.stdout)
    assert report["checkedKeys"] == summary["acknowledged"]
    assert report["missingKeys"] == [] and report["wrongValues"] == []
    for shard in report["shards"]:
        assert len(shard["replicas"]) == 3 and shard["identical"], shard
    assert verify.returncode == 0
    assert "leader is now" in c.log(victim)


def test_a_follower_kept_down_through_compaction_catches_up_by_snapshot(node_cluster, tmp_path):
    c = node_cluster(snapshot_threshold=200)
    c.start_all()
    # Node 3 is down while the others write enough to compact their logs.
    c.kill(3, signal.SIGTERM)
    acked = os.path.join(str(tmp_path), "acked.txt")
    load = c.kv("load", "--keys", "2000", "--concurrency", "16", "--acked", acked, "--json")
    assert json.loads(load.stdout)["acknowledged"] == 2000
    compacted = [s for s in c.status(1)["shards"] if s["shard"] > 0]
    assert all(s["firstIndex"] > 100 for s in compacted), compacted

    c.start(3)
    c.wait_for_leaders()
    verify = c.kv("verify", "--acked", acked, "--json", check=False)
    report = json.loads(verify.stdout)
    assert verify.returncode == 0, report
    assert all(s["identical"] for s in report["shards"])
    assert "installed snapshot" in c.log(3)
    installed = [l for l in c.metrics(3).splitlines() if l.startswith("cognate_raft_snapshots_installed_total")]
    assert installed and float(installed[0].split()[-1]) >= 1


def test_sigterm_stops_a_node_cleanly(node_cluster):
    c = node_cluster()
    c.start_all()
    assert c.kv("put", "k", "v").stdout.strip() == "ok"
    assert c.kill(2, signal.SIGTERM) == 0
    assert "node 2 stopped" in c.log(2)
    c.start(2)
    c.wait_for_leaders()
    assert c.kv("get", "k").stdout.strip() == "v"
