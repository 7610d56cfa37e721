"""`cognate backup`, `backup verify` and `restore`: an online backup of a cluster taken while
users are being created, restored into a new cluster (other ports, other certificates, the
same master keys); every user acknowledged before the backup signs in there by SRP with their
password (pycognito)."""
import json
import os
import re
import shutil
import signal
import subprocess
import threading
import time

import pytest
from pycognito.aws_srp import AWSSRP

from conftest import COGNATE, Front, NodeCluster


def cognate(*args, timeout=600):
    return subprocess.run([COGNATE, *args], capture_output=True, text=True, timeout=timeout)


def srp(idp, pid, cid, name, password):
    return AWSSRP(username=name, password=password, pool_id=pid, client_id=cid, client=idp).authenticate_user()


def make_user(idp, pid, name, password):
    idp.admin_create_user(UserPoolId=pid, Username=name, MessageAction="SUPPRESS", TemporaryPassword="Temp0rary!",
                          UserAttributes=[{"Name": "email", "Value": f"{name}@example.com"},
                                          {"Name": "email_verified", "Value": "true"}])
    idp.admin_set_user_password(UserPoolId=pid, Username=name, Password=password, Permanent=True)


class Load:
    """Creates users one after another until stopped (at most `limit`), recording when each
    was acknowledged."""

    def __init__(self, idp, pid, limit=400):
        self.idp, self.pid, self.limit = idp, pid, limit
        # (name, password, monotonic times the first request went out and the last was answered)
        self.acknowledged = []
        self.errors = []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.run)

    def run(self):
        for i in range(self.limit):
            if self.stop.is_set():
                return
            name, password = f"load{i:03d}", f"Load-Passw0rd-{i}!"
            began = time.monotonic()
            try:
                make_user(self.idp, self.pid, name, password)
            except Exception as e:  # reported by the test, not swallowed
                self.errors.append(f"{name}: {e}")
                return
            self.acknowledged.append((name, password, began, time.monotonic()))


@pytest.fixture(scope="module")
def backed_up(front, tmp_path_factory):
    """A pool with an alias, a client and a group, 20 users, then a backup taken while more
    users are being created."""
    idp = front.client()
    pid = idp.create_user_pool(PoolName="backed-up", AliasAttributes=["email"])["UserPool"]["Id"]
    cid = idp.create_user_pool_client(UserPoolId=pid, ClientName="app")["UserPoolClient"]["ClientId"]
    idp.create_group(UserPoolId=pid, GroupName="staff", Precedence=1)
    for i in range(20):
        make_user(idp, pid, f"user{i:02d}", f"Passw0rd-{i}!")
        if i % 4 == 0:
            idp.admin_add_user_to_group(UserPoolId=pid, Username=f"user{i:02d}", GroupName="staff")
    load = Load(front.client(), pid)
    load.thread.start()
    # The load is running before the backup starts.
    deadline = time.monotonic() + 60
    while len(load.acknowledged) < 5 and not load.errors and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(load.acknowledged) >= 5, load.errors
    directory = str(tmp_path_factory.mktemp("backup") / "b1")
    key = str(tmp_path_factory.mktemp("keys") / "backup.key")
    started = time.monotonic()
    run = cognate("backup", "--config", front.cluster.config, "--out", directory, "--key", key, "--json")
    ended = time.monotonic()
    # A few users begun after the backup ended, which the restored cluster must not have.
    deadline = time.monotonic() + 60
    while (sum(1 for a in load.acknowledged if a[2] > ended) < 3 and not load.errors
           and load.thread.is_alive() and time.monotonic() < deadline):
        time.sleep(0.05)
    load.stop.set()
    load.thread.join(timeout=120)
    assert run.returncode == 0, run.stderr
    assert "created the backup key" in run.stderr and oct(os.stat(key).st_mode & 0o777) == "0o600"
    assert not load.errors, load.errors
    report = json.loads(run.stdout)
    before = [(n, p) for n, p, _, answered in load.acknowledged if answered < started]
    # Begun after the backup ended: not in it (one begun earlier may be, half made).
    after = [(n, p) for n, p, began, _ in load.acknowledged if began > ended]
    during = len(load.acknowledged) - len(before) - len(after)
    print(f"load: {len(before)} users acknowledged before the backup, {during} during, {len(after)} after")
    return dict(pid=pid, cid=cid, directory=directory, report=report, before=before, after=after,
                master=os.path.join(front.cluster.directory, "master.key"), key=key)


@pytest.fixture(scope="module")
def restored(backed_up, tmp_path_factory):
    """A new cluster built from the backup: its own ports and certificates, the backed-up
    cluster's master keys."""
    cluster = NodeCluster(str(tmp_path_factory.mktemp("restored")), secrets=False)
    subprocess.run([COGNATE, "certs", "create", "--config", cluster.config], check=True, capture_output=True)
    shutil.copyfile(backed_up["master"], os.path.join(cluster.directory, "master.key"))
    os.chmod(os.path.join(cluster.directory, "master.key"), 0o600)
    run = cognate("restore", "--from", backed_up["directory"], "--config", cluster.config, "--key", backed_up["key"],
                  "--json")
    assert run.returncode == 0, run.stderr
    report = json.loads(run.stdout)
    # Shard 0 on all three nodes, three user shards on three nodes each.
    assert report["nodes"] == [1, 2, 3] and report["replicas"] == 12
    cluster.start_all()
    f = Front(cluster)
    yield f
    f.stop()
    cluster.stop_all()


def test_backup_writes_a_manifest_and_private_copies(backed_up):
    directory, report = backed_up["directory"], backed_up["report"]
    manifest = report["manifest"]
    assert report["shards"] == 4 and [s["shard"] for s in manifest["shards"]] == [0, 1, 2, 3]
    with open(os.path.join(directory, "manifest.json")) as f:
        assert json.load(f) == manifest
    for s in manifest["shards"]:
        path = os.path.join(directory, s["file"])
        assert os.path.getsize(path) == s["sealedBytes"] > s["bytes"] > 0 and s["index"] > 1
        assert len(s["sha256"]) == 64 and len(manifest["mac"]) == 64
        assert oct(os.stat(path).st_mode & 0o777) == "0o600"
        # Sealed: no record of the pool (its id, its users' names) reads in the file.
        with open(path, "rb") as f:
            content = f.read()
        assert backed_up["pid"].encode() not in content and b"user0" not in content, s["file"]
    assert sorted(os.listdir(directory)) == ["manifest.json"] + [f"shard-{i}.copy" for i in range(4)]

    verify = cognate("backup", "verify", directory, "--key", backed_up["key"], "--json")
    assert verify.returncode == 0, verify.stderr
    records = json.loads(verify.stdout)["records"]
    # Every shard holds data: the pool, client and group on shard 0, users on the others.
    assert all(records[str(i)].get("data", 0) > 0 for i in range(4))


def test_every_user_acknowledged_before_the_backup_signs_in_after_restore(backed_up, restored):
    idp = restored.client()
    pid, cid = backed_up["pid"], backed_up["cid"]
    pool = idp.describe_user_pool(UserPoolId=pid)["UserPool"]
    assert pool["Name"] == "backed-up" and pool["AliasAttributes"] == ["email"]
    assert idp.describe_user_pool_client(UserPoolId=pid, ClientId=cid)["UserPoolClient"]["ClientName"] == "app"
    users = [(f"user{i:02d}", f"Passw0rd-{i}!") for i in range(20)] + backed_up["before"]
    for name, password in users:
        tokens = srp(idp, pid, cid, name, password)["AuthenticationResult"]
        assert tokens["AccessToken"] and tokens["IdToken"], name
    with pytest.raises(idp.exceptions.NotAuthorizedException):
        srp(idp, pid, cid, "user05", "Passw0rd-6!")
    # Aliases came back with their claims: sign-in by email, and still unique.
    assert srp(idp, pid, cid, "user07@example.com", "Passw0rd-7!")["AuthenticationResult"]["AccessToken"]
    with pytest.raises(idp.exceptions.AliasExistsException):
        idp.admin_create_user(
            UserPoolId=pid, Username="copycat", MessageAction="SUPPRESS",
            UserAttributes=[{"Name": "email", "Value": "user07@example.com"},
                            {"Name": "email_verified", "Value": "true"}])
    members = idp.list_users_in_group(UserPoolId=pid, GroupName="staff")["Users"]
    assert sorted(u["Username"] for u in members) == [f"user{i:02d}" for i in range(0, 20, 4)]
    # Users created after the backup finished are not in it.
    assert len(backed_up["after"]) >= 3
    for name, _ in backed_up["after"]:
        with pytest.raises(idp.exceptions.UserNotFoundException):
            idp.admin_get_user(UserPoolId=pid, Username=name)


def test_the_restored_cluster_takes_new_writes(backed_up, restored):
    idp = restored.client()
    pid, cid = backed_up["pid"], backed_up["cid"]
    make_user(idp, pid, "newcomer", "Newc0mer-Passw0rd!")
    assert srp(idp, pid, cid, "newcomer", "Newc0mer-Passw0rd!")["AuthenticationResult"]["AccessToken"]
    idp.admin_update_user_attributes(UserPoolId=pid, Username="user01",
                                     UserAttributes=[{"Name": "given_name", "Value": "Restored"}])
    attributes = idp.admin_get_user(UserPoolId=pid, Username="user01")["UserAttributes"]
    assert {"Name": "given_name", "Value": "Restored"} in attributes


def test_verify_and_restore_refuse_what_they_cannot_trust(backed_up, front, tmp_path):
    directory = backed_up["directory"]
    damaged = str(tmp_path / "damaged")
    shutil.copytree(directory, damaged)
    copy = os.path.join(damaged, "shard-2.copy")
    with open(copy, "r+b") as f:
        f.seek(os.path.getsize(copy) // 2)
        byte = f.read(1)
        f.seek(-1, os.SEEK_CUR)
        f.write(bytes([byte[0] ^ 0x01]))
    key = backed_up["key"]
    run = cognate("backup", "verify", damaged, "--key", key)
    assert run.returncode != 0 and "does not open with this key" in run.stderr, run.stderr
    # Another key opens nothing.
    wrong = str(tmp_path / "wrong.key")
    with open(wrong, "w") as f:
        f.write("11" * 32 + "\n")
    run = cognate("backup", "verify", directory, "--key", wrong)
    assert run.returncode != 0 and "sealed with another key" in run.stderr, run.stderr
    # The manifest altered (a shard's index), or two copies swapped: refused.
    altered = str(tmp_path / "altered")
    shutil.copytree(directory, altered)
    with open(os.path.join(altered, "manifest.json")) as f:
        manifest = json.load(f)
    manifest["shards"][1]["index"] += 1
    with open(os.path.join(altered, "manifest.json"), "w") as f:
        json.dump(manifest, f)
    run = cognate("backup", "verify", altered, "--key", key)
    assert run.returncode != 0 and "HMAC does not match" in run.stderr, run.stderr
    swapped = str(tmp_path / "swapped")
    shutil.copytree(directory, swapped)
    os.rename(os.path.join(swapped, "shard-1.copy"), os.path.join(swapped, "tmp"))
    os.rename(os.path.join(swapped, "shard-2.copy"), os.path.join(swapped, "shard-1.copy"))
    os.rename(os.path.join(swapped, "tmp"), os.path.join(swapped, "shard-2.copy"))
    run = cognate("backup", "verify", swapped, "--key", key)
    assert run.returncode != 0 and ("does not open" in run.stderr or "holds" in run.stderr), run.stderr
    os.remove(os.path.join(damaged, "manifest.json"))
    run = cognate("backup", "verify", damaged, "--key", key)
    assert run.returncode != 0 and "did not finish" in run.stderr

    # A backup goes into a new directory.
    run = cognate("backup", "--config", front.cluster.config, "--out", directory, "--key", key)
    assert run.returncode != 0 and "not empty" in run.stderr

    # Restore: the shard count must match; existing data is never overwritten.
    os.makedirs(tmp_path / "other")
    other = NodeCluster(str(tmp_path / "other"), shards=2, secrets=False)
    run = cognate("restore", "--from", directory, "--config", other.config, "--key", key)
    assert run.returncode != 0 and "3 user shards and the definition 2" in run.stderr
    os.makedirs(tmp_path / "same")
    same = NodeCluster(str(tmp_path / "same"), secrets=False)
    os.makedirs(os.path.join(same.directory, "node2"))
    with open(os.path.join(same.directory, "node2", "data.mdb"), "w") as f:
        f.write("x")
    run = cognate("restore", "--from", directory, "--config", same.config, "--key", key)
    assert run.returncode != 0 and "node 2) is not empty" in run.stderr
    assert not os.path.exists(os.path.join(same.directory, "node1")), "nothing is written before every check passed"


def test_restore_into_a_data_directory_that_cluster_up_starts(backed_up, tmp_path):
    from test_cluster_up import start

    os.makedirs(tmp_path / "template")
    template = NodeCluster(str(tmp_path / "template"), secrets=False)  # its free ports and TOML only
    data = str(tmp_path / "data")
    # Other master keys already there: refused before anything is written.
    os.makedirs(data)
    with open(os.path.join(data, "master.key"), "w") as f:
        f.write("k1:" + "00" * 32 + "\n")
    run = cognate("restore", "--from", backed_up["directory"], "--config", template.config, "--data", data,
                  "--master-key", backed_up["master"], "--key", backed_up["key"])
    assert run.returncode != 0 and "holds other master keys" in run.stderr
    assert sorted(os.listdir(data)) == ["master.key"]
    os.remove(os.path.join(data, "master.key"))

    run = cognate("restore", "--from", backed_up["directory"], "--config", template.config, "--data", data,
                  "--master-key", backed_up["master"], "--key", backed_up["key"], "--json")
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout)["replicas"] == 12
    with open(os.path.join(data, "master.key")) as f, open(backed_up["master"]) as g:
        assert f.read() == g.read()
    assert oct(os.stat(os.path.join(data, "master.key")).st_mode & 0o777) == "0o600"

    up, out = start(["--config", template.config, "--data", data])
    try:
        assert "every shard has a leader" in out, out
        endpoint = re.search(r"Cognito API endpoint: (http://\S+)", out).group(1)
        import boto3
        idp = boto3.client("cognito-idp", endpoint_url=endpoint, region_name="us-east-1",
                           aws_access_key_id="cognate", aws_secret_access_key="cognate-local-secret")
        tokens = srp(idp, backed_up["pid"], backed_up["cid"], "user11", "Passw0rd-11!")["AuthenticationResult"]
        assert tokens["AccessToken"]
    finally:
        up.send_signal(signal.SIGTERM)
        up.communicate(timeout=30)
    assert up.returncode == 0
