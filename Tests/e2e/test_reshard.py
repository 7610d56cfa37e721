"""Growing the user shards online, as an operator runs it: `cognate cluster reshard` against a cluster
`cognate cluster up` started, with users signing in by SRP and being changed through two fronts throughout."""
import os
import random
import signal
import threading
import time

from pycognito.aws_srp import AWSSRP

from test_cluster_up import cognito, loopback_definition, start
from test_membership import cluster_command, leader_views, sign_in_all


def make_pool(idp):
    pool = idp.create_user_pool(PoolName="grow-shards", AliasAttributes=["email"])["UserPool"]["Id"]
    client = idp.create_user_pool_client(UserPoolId=pool, ClientName="app",
                                         ExplicitAuthFlows=["ALLOW_USER_SRP_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"]
                                         )["UserPoolClient"]["ClientId"]
    idp.create_group(UserPoolId=pool, GroupName="staff")
    return pool, client


def all_users(idp, pool):
    names, token = [], None
    while True:
        page = idp.list_users(UserPoolId=pool, Limit=60, **({"PaginationToken": token} if token else {}))
        names += [u["Username"] for u in page["Users"]]
        token = page.get("PaginationToken")
        if not token:
            return names


class Traffic(threading.Thread):
    """SRP sign-ins and attribute changes of random users through a front, bounded in count and
    time; every failure is kept."""

    def __init__(self, endpoint, pool, client, users):
        super().__init__(daemon=True)
        import boto3
        from botocore.config import Config
        # No SDK retries: a refusal the front let through must show here.
        self.idp = boto3.client("cognito-idp", endpoint_url=endpoint, region_name="us-east-1",
                                aws_access_key_id="cognate", aws_secret_access_key="cognate-local-secret",
                                config=Config(retries={"total_max_attempts": 1}))
        self.pool, self.client, self.users = pool, client, users
        self.stop = threading.Event()
        self.done, self.errors, self.slowest = 0, [], 0.0

    def run(self):
        rng = random.Random(7)
        deadline = time.time() + 240
        while not self.stop.is_set() and time.time() < deadline and self.done < 20000:
            name = rng.choice(list(self.users))
            started = time.time()
            try:
                if self.done % 2:
                    AWSSRP(username=name, password=self.users[name], pool_id=self.pool, client_id=self.client,
                           client=self.idp).authenticate_user()
                else:
                    self.idp.admin_update_user_attributes(UserPoolId=self.pool, Username=name,
                                                          UserAttributes=[{"Name": "nickname",
                                                                           "Value": f"n{self.done}"}])
            except Exception as e:  # every failure is reported by the test
                self.errors.append(f"{name}: {e!r}")
            self.slowest = max(self.slowest, time.time() - started)
            self.done += 1


def test_user_shards_grow_online_and_every_user_stays_reachable(tmp_path):
    template, base = loopback_definition(str(tmp_path), nodes=3)
    data = str(tmp_path / "data")
    config = os.path.join(data, "cluster.toml")
    up, out = start(["--config", template, "--data", data, "--fronts", "2"])
    try:
        assert "every shard has a leader" in out, out
        idp = cognito(f"http://127.0.0.1:{base + 40}")
        other = cognito(f"http://127.0.0.1:{base + 41}")
        pool, client = make_pool(idp)
        users = {f"user{k}": f"Passw0rd!{k}" for k in range(60)}
        for k, (name, password) in enumerate(users.items()):
            idp.admin_create_user(UserPoolId=pool, Username=name, MessageAction="SUPPRESS",
                                  UserAttributes=[{"Name": "email", "Value": f"{name}@example.com"},
                                                  {"Name": "email_verified", "Value": "true"}])
            idp.admin_set_user_password(UserPoolId=pool, Username=name, Password=password, Permanent=True)
            if k % 3 == 0:
                idp.admin_add_user_to_group(UserPoolId=pool, Username=name, GroupName="staff")
        staff = {name for k, name in enumerate(users) if k % 3 == 0}

        # Refusals: shrinking, and an impossible count.
        r = cluster_command(config, "reshard", "--shards", "2")
        assert r.returncode == 0 and "they only grow" in r.stdout, r
        r = cluster_command(config, "reshard", "--shards", "5000")
        assert r.returncode != 0 and "--shards must be 2...1024" in r.stderr, r

        traffic = [Traffic(f"http://127.0.0.1:{base + 40 + f}", pool, client, users) for f in (0, 1)]
        for t in traffic:
            t.start()
        deadline = time.time() + 60
        while min(t.done for t in traffic) < 10 and time.time() < deadline:
            time.sleep(0.05)
        assert min(t.done for t in traffic) >= 10, [t.errors[:3] for t in traffic]
        r = cluster_command(config, "reshard", "--shards", "5")
        print(r.stdout)
        assert r.returncode == 0, r
        assert "shard 4: founded on nodes" in r.stdout and "shard 5: founded on nodes" in r.stdout, r.stdout
        assert "resharded: 5 user shards" in r.stdout, r.stdout
        for t in traffic:
            t.stop.set()
            t.join(timeout=60)
            assert not t.is_alive()
            assert t.done > 0 and t.errors == [], (t.done, t.errors[:5])
        views = leader_views(config)
        assert set(views) == {0, 1, 2, 3, 4, 5} and all(len(views[s]["voters"]) == 3 for s in (4, 5)), views

        # Every user: signs in by SRP through either front, is found by its email alias, listed once;
        # group members listed once; the pool's count is exact (moved users left their old shard's).
        sign_in_all(idp, pool, client, users)
        sign_in_all(other, pool, client, dict(list(users.items())[:10]))
        for name in list(users)[::7]:
            assert other.admin_get_user(UserPoolId=pool, Username=f"{name}@example.com")["Username"] == name
        for front in (idp, other):
            listed = all_users(front, pool)
            assert sorted(listed) == sorted(users), (len(listed), sorted(set(listed) ^ set(users)))
            members = front.list_users_in_group(UserPoolId=pool, GroupName="staff", Limit=60)["Users"]
            assert sorted(u["Username"] for u in members) == sorted(staff)
        assert idp.describe_user_pool(UserPoolId=pool)["UserPool"]["EstimatedNumberOfUsers"] == len(users)
        # A claimed email stays claimed on its new shard; a new user lands on the new layout.
        try:
            idp.admin_create_user(UserPoolId=pool, Username="copycat", MessageAction="SUPPRESS",
                                  UserAttributes=[{"Name": "email", "Value": "user5@example.com"},
                                                  {"Name": "email_verified", "Value": "true"}])
            raise AssertionError("a second user took a claimed email")
        except idp.exceptions.AliasExistsException:
            pass
        new = {f"late{k}": f"Passw0rd!late{k}" for k in range(10)}
        for name, password in new.items():
            other.admin_create_user(UserPoolId=pool, Username=name, MessageAction="SUPPRESS")
            other.admin_set_user_password(UserPoolId=pool, Username=name, Password=password, Permanent=True)
        sign_in_all(idp, pool, client, new)
        assert sorted(all_users(idp, pool)) == sorted({**users, **new})

        # Run again: nothing to do.
        r = cluster_command(config, "reshard", "--shards", "5")
        assert r.returncode == 0 and "has 5 user shards already" in r.stdout, r
    finally:
        up.send_signal(signal.SIGTERM)
        up.communicate(timeout=60)

    # A restart: the definition still says three shards; the fronts learn five from shard 0.
    up, out = start(["--config", template, "--data", data, "--fronts", "1"])
    try:
        assert "every shard has a leader" in out, out
        idp = cognito(f"http://127.0.0.1:{base + 40}")
        assert sorted(all_users(idp, pool)) == sorted({**users, **new})
        sign_in_all(idp, pool, client, {**dict(list(users.items())[:20]), **new})
    finally:
        up.send_signal(signal.SIGTERM)
        up.communicate(timeout=60)
