"""The Cognito API front driven by boto3 and the AWS CLI against a real 3-node cluster:
pools, clients, sign-up and the admin user operations, ListUsers across shards, SigV4, and
hostile input."""
import json
import os
import random
import string
import subprocess
import sys
import urllib.request

import botocore
import pytest

from conftest import COGNATE


def error_code(excinfo):
    return excinfo.value.response["Error"]["Code"]


@pytest.fixture(scope="module")
def idp(front):
    return front.client()


@pytest.fixture(scope="module")
def pool(idp):
    p = idp.create_user_pool(PoolName="e2e", Schema=[
        {"Name": "tier", "AttributeDataType": "Number", "NumberAttributeConstraints": {"MinValue": "1", "MaxValue": "5"}},
        {"Name": "email", "AttributeDataType": "String", "Required": True},
    ])["UserPool"]
    client = idp.create_user_pool_client(UserPoolId=p["Id"], ClientName="web",
                                         ExplicitAuthFlows=["ALLOW_USER_SRP_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"])
    return p["Id"], client["UserPoolClient"]["ClientId"]


def test_pool_lifecycle(idp):
    created = idp.create_user_pool(PoolName="lifecycle", Policies={"PasswordPolicy": {"MinimumLength": 10, "RequireSymbols": False}},
                                   UserPoolTags={"team": "auth"})["UserPool"]
    pid = created["Id"]
    assert pid.startswith("us-east-1_") and len(pid.split("_")[1]) == 9
    described = idp.describe_user_pool(UserPoolId=pid)["UserPool"]
    assert described["Name"] == "lifecycle"
    assert described["Policies"]["PasswordPolicy"]["MinimumLength"] == 10
    assert described["UserPoolTags"] == {"team": "auth"}
    assert any(a["Name"] == "email" for a in described["SchemaAttributes"])
    idp.update_user_pool(UserPoolId=pid, Policies={"PasswordPolicy": {"MinimumLength": 12}})
    assert idp.describe_user_pool(UserPoolId=pid)["UserPool"]["Policies"]["PasswordPolicy"]["MinimumLength"] == 12
    ids = []
    kwargs = {"MaxResults": 2}
    while True:
        page = idp.list_user_pools(**kwargs)
        ids += [p["Id"] for p in page["UserPools"]]
        if "NextToken" not in page:
            break
        kwargs["NextToken"] = page["NextToken"]
    assert pid in ids and len(ids) == len(set(ids))
    idp.delete_user_pool(UserPoolId=pid)
    with pytest.raises(idp.exceptions.ResourceNotFoundException):
        idp.describe_user_pool(UserPoolId=pid)
    with pytest.raises(idp.exceptions.ResourceNotFoundException):
        idp.delete_user_pool(UserPoolId=pid)


def test_deletion_protection_refuses_delete(idp):
    pid = idp.create_user_pool(PoolName="protected", DeletionProtection="ACTIVE")["UserPool"]["Id"]
    with pytest.raises(idp.exceptions.InvalidParameterException):
        idp.delete_user_pool(UserPoolId=pid)
    idp.update_user_pool(UserPoolId=pid, DeletionProtection="INACTIVE")
    idp.delete_user_pool(UserPoolId=pid)


def test_client_lifecycle(idp, pool):
    pid, _ = pool
    c = idp.create_user_pool_client(UserPoolId=pid, ClientName="server", GenerateSecret=True,
                                    ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
                                    ReadAttributes=["email"])["UserPoolClient"]
    assert len(c["ClientId"]) == 26 and len(c["ClientSecret"]) == 51
    d = idp.describe_user_pool_client(UserPoolId=pid, ClientId=c["ClientId"])["UserPoolClient"]
    assert d["ClientSecret"] == c["ClientSecret"] and d["ReadAttributes"] == ["email"]
    idp.update_user_pool_client(UserPoolId=pid, ClientId=c["ClientId"], ClientName="renamed")
    names = {x["ClientName"] for x in idp.list_user_pool_clients(UserPoolId=pid, MaxResults=60)["UserPoolClients"]}
    assert "renamed" in names
    with pytest.raises(idp.exceptions.InvalidParameterException):
        idp.create_user_pool_client(UserPoolId=pid, ClientName="bad", ExplicitAuthFlows=["NOT_A_FLOW"])
    with pytest.raises(idp.exceptions.ResourceNotFoundException):
        idp.create_user_pool_client(UserPoolId="us-east-1_missing00", ClientName="x")
    idp.delete_user_pool_client(UserPoolId=pid, ClientId=c["ClientId"])
    with pytest.raises(idp.exceptions.ResourceNotFoundException):
        idp.describe_user_pool_client(UserPoolId=pid, ClientId=c["ClientId"])


def test_sign_up_and_its_errors(idp, pool):
    pid, cid = pool
    r = idp.sign_up(ClientId=cid, Username="signup-alice", Password="Passw0rd!",
                    UserAttributes=[{"Name": "email", "Value": "alice@example.com"}, {"Name": "custom:tier", "Value": "3"}])
    assert r["UserConfirmed"] is False and len(r["UserSub"]) == 36
    u = idp.admin_get_user(UserPoolId=pid, Username="signup-alice")
    assert u["UserStatus"] == "UNCONFIRMED" and u["Enabled"] is True
    attrs = {a["Name"]: a["Value"] for a in u["UserAttributes"]}
    assert attrs["email"] == "alice@example.com" and attrs["custom:tier"] == "3" and attrs["sub"] == r["UserSub"]

    with pytest.raises(idp.exceptions.UsernameExistsException):
        idp.sign_up(ClientId=cid, Username="signup-alice", Password="Passw0rd!", UserAttributes=[{"Name": "email", "Value": "b@example.com"}])
    for password, message in [("Sh0rt!", "Password not long enough"), ("password1!", "uppercase"),
                              ("PASSWORD1!", "lowercase"), ("Password!!", "numeric"), ("Password11", "symbol")]:
        with pytest.raises(idp.exceptions.InvalidPasswordException) as e:
            idp.sign_up(ClientId=cid, Username="signup-bob", Password=password, UserAttributes=[{"Name": "email", "Value": "b@example.com"}])
        assert message in e.value.response["Error"]["Message"]
    with pytest.raises(idp.exceptions.InvalidParameterException) as e:
        idp.sign_up(ClientId=cid, Username="signup-bob", Password="Passw0rd!")
    assert "email" in e.value.response["Error"]["Message"]
    with pytest.raises(idp.exceptions.InvalidParameterException):
        idp.sign_up(ClientId=cid, Username="signup-bob", Password="Passw0rd!",
                    UserAttributes=[{"Name": "email", "Value": "b@example.com"}, {"Name": "custom:nope", "Value": "1"}])
    with pytest.raises(idp.exceptions.InvalidParameterException):
        idp.sign_up(ClientId=cid, Username="signup-bob", Password="Passw0rd!",
                    UserAttributes=[{"Name": "email", "Value": "b@example.com"}, {"Name": "custom:tier", "Value": "9"}])
    with pytest.raises(idp.exceptions.InvalidParameterException):
        idp.sign_up(ClientId=cid, Username="signup-bob", Password="Passw0rd!", UserAttributes=[{"Name": "email", "Value": "not-an-email"}])
    with pytest.raises(idp.exceptions.ResourceNotFoundException):
        idp.sign_up(ClientId="nosuchclient", Username="x", Password="Passw0rd!")


def test_client_with_secret_requires_secret_hash(idp, pool):
    import base64, hashlib, hmac
    pid, _ = pool
    c = idp.create_user_pool_client(UserPoolId=pid, ClientName="secret", GenerateSecret=True)["UserPoolClient"]
    attrs = [{"Name": "email", "Value": "s@example.com"}]
    with pytest.raises(idp.exceptions.NotAuthorizedException):
        idp.sign_up(ClientId=c["ClientId"], Username="secret-user", Password="Passw0rd!", UserAttributes=attrs)
    digest = hmac.new(c["ClientSecret"].encode(), ("secret-user" + c["ClientId"]).encode(), hashlib.sha256).digest()
    idp.sign_up(ClientId=c["ClientId"], Username="secret-user", Password="Passw0rd!", UserAttributes=attrs,
                SecretHash=base64.b64encode(digest).decode())
    assert idp.admin_get_user(UserPoolId=pid, Username="secret-user")["Username"] == "secret-user"


def test_case_insensitive_pool(idp):
    pid = idp.create_user_pool(PoolName="ci", UsernameConfiguration={"CaseSensitive": False})["UserPool"]["Id"]
    cid = idp.create_user_pool_client(UserPoolId=pid, ClientName="c")["UserPoolClient"]["ClientId"]
    idp.sign_up(ClientId=cid, Username="MixedCase", Password="Passw0rd!")
    assert idp.admin_get_user(UserPoolId=pid, Username="mixedcase")["Username"] == "mixedcase"
    assert idp.admin_get_user(UserPoolId=pid, Username="MIXEDCASE")["Username"] == "mixedcase"
    with pytest.raises(idp.exceptions.UsernameExistsException):
        idp.sign_up(ClientId=cid, Username="MIXEDcase", Password="Passw0rd!")

    cs = idp.create_user_pool(PoolName="cs")["UserPool"]["Id"]
    ccid = idp.create_user_pool_client(UserPoolId=cs, ClientName="c")["UserPoolClient"]["ClientId"]
    idp.sign_up(ClientId=ccid, Username="Bob", Password="Passw0rd!")
    idp.sign_up(ClientId=ccid, Username="bob", Password="Passw0rd!")
    with pytest.raises(idp.exceptions.UserNotFoundException):
        idp.admin_get_user(UserPoolId=cs, Username="BOB")


def test_admin_user_operations(idp, pool):
    pid, _ = pool
    created = idp.admin_create_user(UserPoolId=pid, Username="admin-made", TemporaryPassword="Temp0rary!",
                                    MessageAction="SUPPRESS", UserAttributes=[{"Name": "email", "Value": "am@example.com"}])["User"]
    assert created["UserStatus"] == "FORCE_CHANGE_PASSWORD"
    with pytest.raises(idp.exceptions.UsernameExistsException):
        idp.admin_create_user(UserPoolId=pid, Username="admin-made", MessageAction="SUPPRESS",
                              UserAttributes=[{"Name": "email", "Value": "am@example.com"}])
    with pytest.raises(idp.exceptions.NotAuthorizedException):
        idp.admin_confirm_sign_up(UserPoolId=pid, Username="admin-made")

    idp.admin_set_user_password(UserPoolId=pid, Username="admin-made", Password="Perm4nent!", Permanent=True)
    assert idp.admin_get_user(UserPoolId=pid, Username="admin-made")["UserStatus"] == "CONFIRMED"
    with pytest.raises(idp.exceptions.InvalidPasswordException):
        idp.admin_set_user_password(UserPoolId=pid, Username="admin-made", Password="weak", Permanent=True)

    idp.admin_disable_user(UserPoolId=pid, Username="admin-made")
    assert idp.admin_get_user(UserPoolId=pid, Username="admin-made")["Enabled"] is False
    idp.admin_enable_user(UserPoolId=pid, Username="admin-made")
    assert idp.admin_get_user(UserPoolId=pid, Username="admin-made")["Enabled"] is True

    idp.admin_update_user_attributes(UserPoolId=pid, Username="admin-made",
                                     UserAttributes=[{"Name": "given_name", "Value": "Ada"}, {"Name": "custom:tier", "Value": "2"}])
    attrs = {a["Name"]: a["Value"] for a in idp.admin_get_user(UserPoolId=pid, Username="admin-made")["UserAttributes"]}
    assert attrs["given_name"] == "Ada" and attrs["custom:tier"] == "2"
    idp.admin_delete_user_attributes(UserPoolId=pid, Username="admin-made", UserAttributeNames=["given_name"])
    attrs = {a["Name"] for a in idp.admin_get_user(UserPoolId=pid, Username="admin-made")["UserAttributes"]}
    assert "given_name" not in attrs
    with pytest.raises(idp.exceptions.InvalidParameterException):
        idp.admin_update_user_attributes(UserPoolId=pid, Username="admin-made", UserAttributes=[{"Name": "sub", "Value": "x"}])
    with pytest.raises(idp.exceptions.InvalidParameterException):
        idp.admin_delete_user_attributes(UserPoolId=pid, Username="admin-made", UserAttributeNames=["email"])

    # A reset sends a code, so it needs a verified channel, as in Cognito.
    with pytest.raises(idp.exceptions.InvalidParameterException, match="no registered/verified email"):
        idp.admin_reset_user_password(UserPoolId=pid, Username="admin-made")
    idp.admin_update_user_attributes(UserPoolId=pid, Username="admin-made",
                                     UserAttributes=[{"Name": "email_verified", "Value": "true"}])
    idp.admin_reset_user_password(UserPoolId=pid, Username="admin-made")
    assert idp.admin_get_user(UserPoolId=pid, Username="admin-made")["UserStatus"] == "RESET_REQUIRED"

    idp.sign_up(ClientId=pool[1], Username="to-confirm", Password="Passw0rd!", UserAttributes=[{"Name": "email", "Value": "c@example.com"}])
    idp.admin_confirm_sign_up(UserPoolId=pid, Username="to-confirm")
    assert idp.admin_get_user(UserPoolId=pid, Username="to-confirm")["UserStatus"] == "CONFIRMED"

    idp.admin_delete_user(UserPoolId=pid, Username="admin-made")
    with pytest.raises(idp.exceptions.UserNotFoundException):
        idp.admin_get_user(UserPoolId=pid, Username="admin-made")
    with pytest.raises(idp.exceptions.UserNotFoundException):
        idp.admin_delete_user(UserPoolId=pid, Username="admin-made")
    with pytest.raises(idp.exceptions.ResourceNotFoundException):
        idp.admin_get_user(UserPoolId="us-east-1_nothere00", Username="x")


def test_list_users_pages_across_every_shard_exactly_once(idp):
    pid = idp.create_user_pool(PoolName="many")["UserPool"]["Id"]
    names = [f"user{i:02d}" for i in range(40)]
    for n in names:
        idp.admin_create_user(UserPoolId=pid, Username=n, MessageAction="SUPPRESS", TemporaryPassword="Temp0rary!")
    seen = []
    kwargs = {"UserPoolId": pid, "Limit": 7}
    pages = 0
    while True:
        page = idp.list_users(**kwargs)
        pages += 1
        seen += [u["Username"] for u in page["Users"]]
        assert len(page["Users"]) <= 7
        if "PaginationToken" not in page:
            break
        kwargs["PaginationToken"] = page["PaginationToken"]
    assert sorted(seen) == sorted(names) and len(seen) == len(set(seen))
    assert pages >= 6
    filtered = idp.list_users(UserPoolId=pid, Filter='username ^= "user1"', Limit=60)["Users"]
    assert sorted(u["Username"] for u in filtered) == [f"user1{i}" for i in range(10)]
    exact = idp.list_users(UserPoolId=pid, Filter='username = "user07"')["Users"]
    assert [u["Username"] for u in exact] == ["user07"]
    with pytest.raises(idp.exceptions.InvalidParameterException):
        idp.list_users(UserPoolId=pid, Filter="username ~ x")


def test_admin_calls_need_a_valid_signature(front, pool):
    pid, _ = pool
    bad = front.client(secret="not-the-secret")
    with pytest.raises(botocore.exceptions.ClientError) as e:
        bad.list_users(UserPoolId=pid)
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    assert "Users" not in e.value.response
    unknown = front.client(key="nobody")
    with pytest.raises(botocore.exceptions.ClientError) as e:
        unknown.admin_get_user(UserPoolId=pid, Username="signup-alice")
    assert 400 <= e.value.response["ResponseMetadata"]["HTTPStatusCode"] < 500
    # Unsigned: a raw POST with no Authorization header.
    status, body = post(front, "AdminGetUser", json.dumps({"UserPoolId": pid, "Username": "signup-alice"}).encode())
    assert status == 403 and body["__type"] == "MissingAuthenticationTokenException" and "UserAttributes" not in body


def post(front, target, data, content_type="application/x-amz-json-1.1", full_target=None):
    req = urllib.request.Request(front.endpoint + "/", data=data, method="POST", headers={
        "Content-Type": content_type,
        "X-Amz-Target": full_target if full_target is not None else f"AWSCognitoIdentityProviderService.{target}",
    })
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, json.loads(r.read() or b"{}")
    except urllib.error.HTTPError as e:
        assert e.headers.get("x-amzn-ErrorType"), "every error names its type in a header"
        return e.code, json.loads(e.read())


def test_unsupported_and_unknown_operations_answer_clearly(front):
    status, body = post(front, "UpdateAuthEventFeedback", b'{"UserPoolId":"us-east-1_x","Username":"x"}')
    assert status == 400 and body["__type"] == "UnsupportedOperationException" and "UpdateAuthEventFeedback" in body["message"]
    status, body = post(front, "NoSuchThing", b"{}")
    assert status == 400 and body["__type"] == "UnknownOperationException"
    status, body = post(front, None, b"{}", full_target="SomethingElse.SignUp")
    assert status == 400 and body["__type"] == "UnknownOperationException"


def test_bad_input_is_refused_and_the_front_keeps_serving(front, pool):
    _, cid = pool
    cases = [
        b"{not json", b"[1,2,3]", b'"a string"', b'{"ClientId": 5, "Username": "u", "Password": "Passw0rd!"}',
        b'{"ClientId": "' + cid.encode() + b'", "Username": ["u"], "Password": "Passw0rd!"}',
        b'{"ClientId": "' + cid.encode() + b'"}',
        b'{"ClientId": "' + cid.encode() + b'", "Username": "' + b"u" * 200 + b'", "Password": "Passw0rd!"}',
        b'{"ClientId": "' + cid.encode() + b'", "Username": "u", "Password": "Passw0rd!", "UserAttributes": {"Name": "email"}}',
    ]
    for data in cases:
        status, body = post(front, "SignUp", data)
        assert 400 <= status < 500, (data, status, body)
        assert body["__type"].endswith("Exception") and isinstance(body["message"], str)
    status, body = post(front, "SignUp", b'{"Username": "' + b"x" * (1 << 20) + b'"}')
    assert status == 413 and body["__type"]
    # CORS preflight for browser clients.
    req = urllib.request.Request(front.endpoint + "/", method="OPTIONS", headers={"Origin": "http://app.example", "Access-Control-Request-Method": "POST"})
    with urllib.request.urlopen(req, timeout=5) as r:
        assert r.status == 200 and r.headers["Access-Control-Allow-Origin"] == "*"
        assert "x-amz-target" in r.headers["Access-Control-Allow-Headers"]
    with urllib.request.urlopen(front.endpoint + "/health", timeout=5) as r:
        assert r.status == 200
    with urllib.request.urlopen(front.endpoint + "/metrics", timeout=5) as r:
        text = r.read().decode()
        assert "hb_requests" in text and "http_server_request_duration" in text


def test_thousands_of_generated_bodies_never_break_the_front(front, pool):
    pid, cid = pool
    rng = random.Random(1127)
    targets = ["SignUp", "AdminGetUser", "ListUsers", "CreateUserPool", "DescribeUserPoolClient", "AdminCreateUser", "Bogus"]
    fields = ["ClientId", "Username", "Password", "UserPoolId", "UserAttributes", "Limit", "Filter", "PoolName", "MaxResults"]

    def value(depth=0):
        kind = rng.randrange(9 if depth < 2 else 6)
        return [lambda: None, lambda: rng.random() < 0.5, lambda: rng.randrange(-10**6, 10**6), lambda: rng.random() * 1e9,
                lambda: "".join(rng.choices(string.printable, k=rng.randrange(0, 40))), lambda: rng.choice([pid, cid, "", "us-east-1_x"]),
                lambda: [value(depth + 1) for _ in range(rng.randrange(4))],
                lambda: {rng.choice(fields + ["Name", "Value"]): value(depth + 1) for _ in range(rng.randrange(4))},
                lambda: [{"Name": rng.choice(["email", "sub", "custom:tier", "x"]), "Value": value(depth + 2)}]][kind]()

    statuses = {}
    for i in range(2000):
        target = rng.choice(targets)
        if rng.random() < 0.1:
            data = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 64)))
        else:
            data = json.dumps({rng.choice(fields): value() for _ in range(rng.randrange(5))}).encode()
        # Public operations go unsigned; admin ones are refused without a signature, which
        # still must be a well-formed error.
        status, body = post(front, target, data)
        statuses[status] = statuses.get(status, 0) + 1
        assert status < 500, (target, data, status, body)
        if status != 200:
            assert body["__type"] and isinstance(body["message"], str)
    assert statuses.get(400, 0) + statuses.get(403, 0) > 1000
    with urllib.request.urlopen(front.endpoint + "/health", timeout=5) as r:
        assert r.status == 200


def test_the_aws_cli_works_unchanged(front):
    env = dict(os.environ, AWS_ACCESS_KEY_ID="cognate", AWS_SECRET_ACCESS_KEY="cognate-local-secret", AWS_DEFAULT_REGION="us-east-1")
    def aws(*args):
        venv_aws = os.path.join(os.path.dirname(sys.executable), "aws")
        r = subprocess.run([venv_aws if os.path.exists(venv_aws) else "aws", "cognito-idp", *args, "--endpoint-url", front.endpoint, "--output", "json"],
                           capture_output=True, text=True, env=env, timeout=60)
        return r
    r = aws("create-user-pool", "--pool-name", "from-cli")
    assert r.returncode == 0, r.stderr
    pid = json.loads(r.stdout)["UserPool"]["Id"]
    r = aws("admin-create-user", "--user-pool-id", pid, "--username", "cli-user", "--message-action", "SUPPRESS",
            "--temporary-password", "Temp0rary!")
    assert r.returncode == 0, r.stderr
    r = aws("list-users", "--user-pool-id", pid)
    assert [u["Username"] for u in json.loads(r.stdout)["Users"]] == ["cli-user"]
    r = aws("admin-get-user", "--user-pool-id", pid, "--username", "nobody")
    assert r.returncode != 0 and "UserNotFoundException" in r.stderr
