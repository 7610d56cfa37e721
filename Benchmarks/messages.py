#!/usr/bin/env python3
"""Message delivery on a local cluster: the time from SignUp's answer to the mail's arrival
(p50/p99), and how many messages one shard leader delivers per second, next to what the
same SMTP server takes from plain Python senders in the same run (the peer).

    .venv/bin/python Benchmarks/messages.py [--bin PATH] [--latency N] [--burst N]

One user shard, so one leader delivers every message; an aiosmtpd server on 127.0.0.1.
For the burst, the server holds its first replies while the sign-ups queue their messages
in the outbox, then lets everything through: the rate is messages over the time from the
release to the last arrival. The peer opens one connection per message too, as Cognate
does, with as many senders as Cognate keeps messages in flight (8)."""
import argparse
import asyncio
import json
import os
import smtplib
import statistics
import sys
import tempfile
import threading
import time
from email.message import EmailMessage

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "Tests", "e2e"))


class Server:
    """Records when each recipient's mail arrived; `hold()` makes replies wait."""

    def __init__(self):
        self.arrivals = {}
        self.cond = threading.Condition()
        self.gate = None

    async def handle_DATA(self, server, session, envelope):
        if self.gate is not None:
            await self.gate.wait()
        now = time.time()
        with self.cond:
            for r in envelope.rcpt_tos:
                self.arrivals.setdefault(r, now)
            self.cond.notify_all()
        return "250 OK"

    def wait(self, addresses, timeout):
        deadline = time.time() + timeout
        with self.cond:
            while not all(a in self.arrivals for a in addresses):
                left = deadline - time.time()
                if left <= 0:
                    missing = [a for a in addresses if a not in self.arrivals]
                    raise SystemExit(f"{len(missing)} message(s) did not arrive within {timeout} s")
                self.cond.wait(left)


def percentile(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bin", default=os.path.join(ROOT, ".build", "release", "cognate"))
    parser.add_argument("--latency", type=int, default=200, help="sign-ups one at a time, for the latency")
    parser.add_argument("--burst", type=int, default=400, help="messages queued at once, for the rate")
    args = parser.parse_args()
    os.environ["COGNATE_BIN"] = os.path.abspath(args.bin)
    import conftest  # after COGNATE_BIN is set
    from aiosmtpd.controller import Controller

    server = Server()
    port = conftest.free_ports(1)[0]
    smtp = Controller(server, hostname="127.0.0.1", port=port)
    smtp.start()
    work = tempfile.mkdtemp(prefix="cognate-messages-")
    cluster = conftest.NodeCluster(work, shards=1, kv_harness=False,
                                   extra=["[email]", f'smtp_url = "smtp://127.0.0.1:{port}"'])
    cluster.start_all()
    front = conftest.Front(cluster)
    try:
        c = front.client()
        pool = c.create_user_pool(PoolName="bench", AutoVerifiedAttributes=["email"])["UserPool"]["Id"]
        client = c.create_user_pool_client(UserPoolId=pool, ClientName="app")["UserPoolClient"]["ClientId"]

        def sign_up(name):
            c.sign_up(ClientId=client, Username=name, Password="Passw0rd!x",
                      UserAttributes=[{"Name": "email", "Value": f"{name}@bench.test"}])
            return time.time()

        latencies = []
        for i in range(args.latency):
            answered = sign_up(f"lat{i}")
            server.wait([f"lat{i}@bench.test"], 30)
            latencies.append((server.arrivals[f"lat{i}@bench.test"] - answered) * 1000)

        # The burst: replies held while the outbox fills, then released.
        smtp.loop.call_soon_threadsafe(lambda: setattr(server, "gate", asyncio.Event()))
        time.sleep(0.2)
        names = [f"burst{i}" for i in range(args.burst)]
        threads = [threading.Thread(target=lambda part: [sign_up(n) for n in part], args=(names[k::8],))
                   for k in range(8)]
        queued_from = time.time()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        queued = time.time() - queued_from
        released = time.time()
        smtp.loop.call_soon_threadsafe(server.gate.set)
        addresses = [f"{n}@bench.test" for n in names]
        server.wait(addresses, 120)
        server.gate = None
        drain = max(server.arrivals[a] for a in addresses) - released
        rate = args.burst / drain

        # The peer: the same server, plain Python senders, a connection per message.
        peer_names = [f"peer{i}@bench.test" for i in range(args.burst)]

        def send(part):
            for to in part:
                m = EmailMessage()
                m["From"], m["To"], m["Subject"] = "bench@bench.test", to, "Your verification code"
                m.set_content("Your verification code is 123456. ")
                with smtplib.SMTP("127.0.0.1", port) as s:
                    s.send_message(m)

        peers = [threading.Thread(target=send, args=(peer_names[k::8],)) for k in range(8)]
        started = time.time()
        for t in peers:
            t.start()
        for t in peers:
            t.join()
        peer_rate = args.burst / (time.time() - started)
        result = {
            "binary": args.bin, "latencySignUps": args.latency,
            "latencyMsP50": round(percentile(latencies, 50), 1), "latencyMsP99": round(percentile(latencies, 99), 1),
            "latencyMsMax": round(max(latencies), 1), "burst": args.burst,
            "burstQueuedSeconds": round(queued, 2), "oneLeaderMessagesPerSecond": round(rate, 1),
            "peerMessagesPerSecond": round(peer_rate, 1), "ratioToPeer": round(rate / peer_rate, 2),
        }
        print(f"SignUp answered -> mail arrived, {args.latency} sign-ups one at a time: "
              f"p50 {result['latencyMsP50']} ms, p99 {result['latencyMsP99']} ms, max {result['latencyMsMax']} ms")
        print(f"one shard leader delivered {args.burst} queued messages at {result['oneLeaderMessagesPerSecond']}/s; "
              f"Python senders into the same server: {result['peerMessagesPerSecond']}/s "
              f"(ratio {result['ratioToPeer']})")
        print(json.dumps(result))
    finally:
        front.stop()
        cluster.stop_all()
        smtp.stop()


if __name__ == "__main__":
    main()
