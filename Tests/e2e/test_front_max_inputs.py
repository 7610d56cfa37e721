"""Every operation of the cognito-idp service model, with every string at its maximum length
in four-byte characters (and every list, map and number at its edge): answered with a 4xx or
a result, never a 5xx; the cluster serves afterwards, and after all its nodes restart."""
import datetime

import botocore.session
from botocore.config import Config
from botocore.exceptions import ClientError
from pycognito.aws_srp import AWSSRP

from conftest import Front, NodeCluster

CHAR = "\U0001F600"  # four bytes of UTF-8, two UTF-16 units
WIDE = "\u4e2d"  # three bytes of UTF-8, one UTF-16 unit
UNBOUNDED = 4096  # strings the model leaves unbounded get this many characters


def fill(shape, overrides, depth=0):
    """A value of `shape` at its limits; `overrides` replaces members by name."""
    t = shape.type_name
    if t == "structure":
        if depth > 4:
            return {}
        out = {}
        for name, member in shape.members.items():
            out[name] = overrides[name] if name in overrides else fill(member, overrides, depth + 1)
        return out
    if t == "list":
        count = min(max(shape.metadata.get("min", 1), 2), 3)
        return [fill(shape.member, overrides, depth + 1) for _ in range(count)]
    if t == "map":
        return {fill(shape.key, overrides, depth + 1): fill(shape.value, overrides, depth + 1)}
    if t == "string":
        if shape.enum:
            return shape.enum[-1]
        return CHAR * int(shape.metadata.get("max", UNBOUNDED))
    if t in ("integer", "long"):
        return int(shape.metadata.get("max", 2 ** 31 - 1))
    if t == "boolean":
        return True
    if t == "blob":
        return b"\xff" * 64
    if t == "timestamp":
        return datetime.datetime(2026, 12, 1)
    if t in ("double", "float"):
        return 1e300
    raise AssertionError(f"unhandled shape type {t}")


def call_everything(idp, model, overrides, skip=()):
    """Calls every operation; returns those answered with a 5xx, as unknown, or not at all."""
    failures = []
    answered = {}
    for op in model.operation_names:
        if op in skip:
            continue
        params = fill(model.operation_model(op).input_shape, overrides)
        try:
            idp._make_api_call(op, params)
            answered["ok"] = answered.get("ok", 0) + 1
        except ClientError as e:
            status = e.response["ResponseMetadata"]["HTTPStatusCode"]
            code = e.response["Error"]["Code"]
            answered[code] = answered.get(code, 0) + 1
            if status >= 500 or code == "UnknownOperationException":
                # A real operation is implemented or UnsupportedOperationException, never unknown.
                failures.append((op, status, e.response["Error"]))
        except Exception as e:  # a dropped connection, a timeout
            failures.append((op, "no answer", repr(e)[:300]))
    print(f"{len(model.operation_names) - len(skip)} operations answered:", dict(sorted(answered.items())))
    return failures


def serves(front):
    idp = front.client()
    pid = idp.create_user_pool(PoolName="after")["UserPool"]["Id"]
    cid = idp.create_user_pool_client(UserPoolId=pid, ClientName="app")["UserPoolClient"]["ClientId"]
    idp.admin_create_user(UserPoolId=pid, Username="after", MessageAction="SUPPRESS", TemporaryPassword="Temp0rary!")
    idp.admin_set_user_password(UserPoolId=pid, Username="after", Password="Passw0rd!", Permanent=True)
    result = AWSSRP(username="after", password="Passw0rd!", pool_id=pid, client_id=cid, client=idp).authenticate_user()
    assert result["AuthenticationResult"]["AccessToken"]


def test_every_operation_at_its_maximum_input_sizes_leaves_the_cluster_serving(tmp_path):
    cluster = NodeCluster(str(tmp_path))
    cluster.start_all()
    front = Front(cluster)
    try:
        model = botocore.session.get_session().get_service_model("cognito-idp")
        idp = front.client()
        import boto3
        raw = boto3.client("cognito-idp", endpoint_url=front.endpoint, region_name="us-east-1",
                           aws_access_key_id="cognate", aws_secret_access_key="cognate-local-secret",
                           config=Config(parameter_validation=False, read_timeout=30, retries={"max_attempts": 1}))
        # Pass 1: every identifier too, so validation refuses most of it at the door.
        failures = call_everything(raw, model, {})
        # Pass 2: a real pool, client and user, so the rest reaches the shards.
        pid = idp.create_user_pool(PoolName="max", AliasAttributes=["email", "preferred_username"])["UserPool"]["Id"]
        cid = idp.create_user_pool_client(UserPoolId=pid, ClientName="app")["UserPoolClient"]["ClientId"]
        overrides = {"UserPoolId": pid, "ClientId": cid}
        destructive = {"DeleteUserPool", "DeleteUserPoolClient"}
        failures += call_everything(raw, model, overrides, skip=destructive)
        # Pass 3: the longest usernames and attribute values Cognito accepts, stored. Cognito
        # counts lengths in UTF-16 units, so the most bytes per unit are a three-byte
        # character's (a four-byte one counts two).
        raw.sign_up(ClientId=cid, Username=WIDE * 128, Password="Passw0rd!" + CHAR * 100,
                    UserAttributes=[{"Name": "name", "Value": WIDE * 2048}, {"Name": "preferred_username", "Value": WIDE * 2048}])
        raw.admin_create_user(UserPoolId=pid, Username=WIDE * 127 + "x", MessageAction="SUPPRESS",
                              TemporaryPassword="Temp0rary!",
                              UserAttributes=[{"Name": "email", "Value": WIDE * 2036 + "@example.com"}])
        # One unit more is refused, in Cognito's words.
        try:
            raw.sign_up(ClientId=cid, Username=WIDE * 129, Password="Passw0rd!")
            raise AssertionError("a 129-unit username was accepted")
        except ClientError as e:
            assert e.response["Error"]["Code"] == "InvalidParameterException"
            assert e.response["Error"]["Message"].startswith("1 validation error detected: Value at 'username' failed")
        failures += call_everything(raw, model, overrides, skip=set(model.operation_names) - destructive)
        assert failures == [], failures

        serves(front)
        # Every node restarts over what those requests committed, and serves.
        front.stop()
        cluster.stop_all()
        cluster.start_all()
        front = Front(cluster)
        serves(front)
        for i in cluster.ids:
            assert "Fatal error" not in cluster.log(i)
    finally:
        front.stop()
        cluster.stop_all()
