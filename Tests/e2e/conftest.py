"""Shared fixtures: real `cognate` processes on 127.0.0.1, each cluster in its own
temporary directory with its own free ports."""
import email
import email.policy
import json
import os
import re
import signal
import socket
import subprocess
import threading
import time
import urllib.request

import pytest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
COGNATE = os.environ.get("COGNATE_BIN", os.path.join(ROOT, ".build", "debug", "cognate"))


def free_ports(n):
    socks, ports = [], []
    for _ in range(n):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        socks.append(s)
        ports.append(s.getsockname()[1])
    for s in socks:
        s.close()
    return ports


class NodeCluster:
    """Three (or more) `cognate node` processes from a generated cluster definition."""

    def __init__(self, directory, nodes=3, shards=3, snapshot_threshold=10000, tick_ms=50, extra=(), kv_harness=True,
                 secrets=True):
        self.directory = directory
        self.ids = list(range(1, nodes + 1))
        ports = free_ports(2 * nodes)
        self.peer = {i: ports[2 * (i - 1)] for i in self.ids}
        self.admin = {i: ports[2 * (i - 1) + 1] for i in self.ids}
        lines = [
            f"shards = {shards}", f"replication = {min(3, nodes)}", f"tick_ms = {tick_ms}",
            f"snapshot_threshold = {snapshot_threshold}", f'master_key_file = "{directory}/master.key"',
            f"kv_harness = {'true' if kv_harness else 'false'}", *extra,
            "[tls]", f'dir = "{directory}/tls"',
        ]
        for i in self.ids:
            lines += ["[[nodes]]", f"id = {i}", f'peer = "127.0.0.1:{self.peer[i]}"',
                      f'admin = "127.0.0.1:{self.admin[i]}"', f'data = "{directory}/node{i}"']
        self.config = os.path.join(directory, "cluster.toml")
        with open(self.config, "w") as f:
            f.write("\n".join(lines) + "\n")
        if secrets:
            # What `cluster up` does on a first start, done by hand as an operator would.
            subprocess.run([COGNATE, "certs", "create", "--config", self.config], check=True, capture_output=True)
            subprocess.run([COGNATE, "keys", "create", "--config", self.config], check=True, capture_output=True)
        self.tls = os.path.join(directory, "tls")
        self.procs = {}
        self.logs = {}

    def start(self, i):
        log = open(os.path.join(self.directory, f"node{i}.log"), "a")
        self.logs[i] = log.name
        self.procs[i] = subprocess.Popen(
            [COGNATE, "node", "--config", self.config, "--id", str(i)], stdout=log, stderr=subprocess.STDOUT)

    def start_all(self):
        for i in self.ids:
            self.start(i)
        self.wait_for_leaders()

    def kill(self, i, sig=signal.SIGKILL):
        p = self.procs.pop(i)
        p.send_signal(sig)
        return p.wait(timeout=20)

    def stop_all(self):
        for i in list(self.procs):
            p = self.procs.pop(i)
            p.send_signal(signal.SIGTERM)
            try:
                p.wait(timeout=15)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()

    def status(self, i, timeout=2):
        with urllib.request.urlopen(f"http://127.0.0.1:{self.admin[i]}/status", timeout=timeout) as r:
            return json.load(r)

    def metrics(self, i):
        with urllib.request.urlopen(f"http://127.0.0.1:{self.admin[i]}/metrics", timeout=2) as r:
            return r.read().decode()

    def leader_of(self, shard):
        for i in self.procs:
            try:
                for s in self.status(i)["shards"]:
                    if s["shard"] == shard and s["role"] == "leader":
                        return i
            except OSError:
                continue
        return None

    def wait_for_leaders(self, timeout=30):
        deadline = time.time() + timeout
        while time.time() < deadline:
            try:
                led = set()
                for i in self.procs:
                    for s in self.status(i)["shards"]:
                        if s["role"] == "leader":
                            led.add(s["shard"])
                shards = {s["shard"] for s in self.status(next(iter(self.procs)))["shards"]}
                if shards and shards <= led:
                    return
            except OSError:
                pass
            time.sleep(0.2)
        raise AssertionError("not every shard elected a leader in time")

    def log(self, i):
        with open(self.logs[i]) as f:
            return f.read()

    def kv(self, *args, check=True, timeout=300):
        return subprocess.run([COGNATE, "kv", *args, "--config", self.config], capture_output=True, text=True,
                              check=check, timeout=timeout)


class Front:
    """A `cognate front` process in front of a NodeCluster."""

    def __init__(self, cluster, keys="cognate:cognate-local-secret"):
        self.cluster = cluster
        self.port = free_ports(1)[0]
        self.endpoint = f"http://127.0.0.1:{self.port}"
        log = open(os.path.join(cluster.directory, "front.log"), "a")
        self.log_path = log.name
        env = dict(os.environ, COGNATE_ADMIN_KEYS=keys)
        self.proc = subprocess.Popen([COGNATE, "front", "--config", cluster.config, "--listen", f"127.0.0.1:{self.port}"],
                                     stdout=log, stderr=subprocess.STDOUT, env=env)
        deadline = time.time() + 30
        while time.time() < deadline:
            try:
                with urllib.request.urlopen(self.endpoint + "/health", timeout=1) as r:
                    if r.status == 200:
                        return
            except OSError:
                time.sleep(0.2)
        raise AssertionError("front did not come up")

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()

    def client(self, key="cognate", secret="cognate-local-secret"):
        import boto3
        from botocore.config import Config
        return boto3.client("cognito-idp", endpoint_url=self.endpoint, region_name="us-east-1",
                            aws_access_key_id=key, aws_secret_access_key=secret,
                            config=Config(retries={"max_attempts": 1}))


@pytest.fixture(scope="module")
def front(tmp_path_factory):
    directory = str(tmp_path_factory.mktemp("front"))
    cluster = NodeCluster(directory)
    cluster.start_all()
    f = Front(cluster)
    yield f
    f.stop()
    cluster.stop_all()


@pytest.fixture
def node_cluster(tmp_path):
    clusters = []

    def make(**kw):
        c = NodeCluster(str(tmp_path), **kw)
        clusters.append(c)
        return c

    yield make
    for c in clusters:
        c.stop_all()


@pytest.fixture(scope="module")
def idp(front):
    """A boto3 cognito-idp client of the module's cluster."""
    return front.client()


def refused(call, code):
    """Runs `call`, which must fail with the Cognito error `code`; returns its message."""
    from botocore.exceptions import ClientError
    with pytest.raises(ClientError) as e:
        call()
    assert e.value.response["Error"]["Code"] == code, e.value.response
    return e.value.response["Error"]["Message"]


class Mailbox:
    """What the SMTP server received, parsed."""

    def __init__(self):
        self.lock = threading.Condition()
        self.messages = []

    async def handle_DATA(self, server, session, envelope):
        msg = email.message_from_bytes(envelope.content, policy=email.policy.default)
        with self.lock:
            self.messages.append({"to": envelope.rcpt_tos, "from": envelope.mail_from, "msg": msg})
            self.lock.notify_all()
        return "250 OK"

    def wait_for(self, to, count=1, timeout=30, since=0):
        """The first `count` messages to `to` received after index `since`."""
        deadline = time.time() + timeout
        with self.lock:
            while True:
                found = [m for m in self.messages[since:] if to in m["to"]]
                if len(found) >= count:
                    return found[:count]
                left = deadline - time.time()
                assert left > 0, f"no mail to {to} within {timeout} s (got {[m['to'] for m in self.messages]})"
                self.lock.wait(left)


def text_of(m):
    return m["msg"].get_body(preferencelist=("plain",)).get_content()


def code_in(text):
    found = re.findall(r"\b(\d{6})\b", text)
    assert found, text
    return found[-1]
