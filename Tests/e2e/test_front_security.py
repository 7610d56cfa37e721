"""Cognito's security rules through boto3 and pycognito: verification flags, disabled users,
lockout under parallel guesses, unknown users that look like known ones, secrets, token
lifetimes, master keys and file modes."""
import concurrent.futures
import json
import os
import re
import stat
import subprocess
import urllib.error
import urllib.request

import botocore
import pytest
from pycognito.aws_srp import AWSSRP

from conftest import COGNATE, Front, NodeCluster


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    directory = str(tmp_path_factory.mktemp("security"))
    # Mail goes to a port nobody listens on: every message stays in the outbox, retried, for
    # longer than these tests run, so the only Raft writes a test counts are its requests'.
    cluster = NodeCluster(directory, extra=["lockout_base_seconds = 60", "[email]", 'smtp_url = "smtp://127.0.0.1:9"'])
    cluster.start_all()
    front = Front(cluster)
    yield cluster, front
    front.stop()
    cluster.stop_all()


@pytest.fixture(scope="module")
def idp(env):
    return env[1].client()


FLOWS = ["ALLOW_USER_SRP_AUTH", "ALLOW_USER_PASSWORD_AUTH", "ALLOW_ADMIN_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"]


def new_pool(idp, name, **kw):
    pid = idp.create_user_pool(PoolName=name, **kw)["UserPool"]["Id"]
    cid = idp.create_user_pool_client(UserPoolId=pid, ClientName="app", ExplicitAuthFlows=FLOWS,
                                      PreventUserExistenceErrors="ENABLED")["UserPoolClient"]["ClientId"]
    return pid, cid


def confirmed_user(idp, pid, name, password="Passw0rd!", attributes=()):
    idp.admin_create_user(UserPoolId=pid, Username=name, MessageAction="SUPPRESS", TemporaryPassword="Temp0rary!",
                          UserAttributes=list(attributes))
    idp.admin_set_user_password(UserPoolId=pid, Username=name, Password=password, Permanent=True)


def password_sign_in(idp, cid, name, password):
    return idp.initiate_auth(ClientId=cid, AuthFlow="USER_PASSWORD_AUTH",
                             AuthParameters={"USERNAME": name, "PASSWORD": password})


def attrs(response, key="UserAttributes"):
    return {a["Name"]: a["Value"] for a in response[key]}


def test_verification_flags_are_not_writable_by_users_and_a_changed_email_is_unverified(idp):
    pid, cid = new_pool(idp, "verified")
    with pytest.raises(idp.exceptions.NotAuthorizedException) as e:
        idp.sign_up(ClientId=cid, Username="eve", Password="Passw0rd!",
                    UserAttributes=[{"Name": "email", "Value": "eve@example.com"}, {"Name": "email_verified", "Value": "true"}])
    assert "unauthorized attribute email_verified" in e.value.response["Error"]["Message"]
    with pytest.raises(idp.exceptions.InvalidParameterException):
        idp.create_user_pool_client(UserPoolId=pid, ClientName="bad", WriteAttributes=["email", "email_verified"])

    confirmed_user(idp, pid, "vera", attributes=[{"Name": "email", "Value": "vera@example.com"},
                                                {"Name": "email_verified", "Value": "true"}])
    assert attrs(idp.admin_get_user(UserPoolId=pid, Username="vera"))["email_verified"] == "true"
    token = password_sign_in(idp, cid, "vera", "Passw0rd!")["AuthenticationResult"]["AccessToken"]
    with pytest.raises(idp.exceptions.NotAuthorizedException):
        idp.update_user_attributes(AccessToken=token, UserAttributes=[{"Name": "phone_number_verified", "Value": "true"}])
    # The user changes the email: it is no longer verified.
    idp.update_user_attributes(AccessToken=token, UserAttributes=[{"Name": "email", "Value": "vera2@example.com"}])
    now = attrs(idp.admin_get_user(UserPoolId=pid, Username="vera"))
    assert now["email"] == "vera2@example.com" and now["email_verified"] == "false"
    # An admin may set the flag, in the same call as the change or on its own.
    idp.admin_update_user_attributes(UserPoolId=pid, Username="vera", UserAttributes=[
        {"Name": "email", "Value": "vera3@example.com"}, {"Name": "email_verified", "Value": "true"}])
    assert attrs(idp.admin_get_user(UserPoolId=pid, Username="vera"))["email_verified"] == "true"
    idp.admin_update_user_attributes(UserPoolId=pid, Username="vera", UserAttributes=[{"Name": "email", "Value": "vera4@example.com"}])
    assert attrs(idp.admin_get_user(UserPoolId=pid, Username="vera"))["email_verified"] == "false"


def test_disabling_a_user_revokes_their_tokens_and_every_token_operation_refuses_them(idp):
    pid, cid = new_pool(idp, "disable")
    confirmed_user(idp, pid, "dora")
    result = password_sign_in(idp, cid, "dora", "Passw0rd!")["AuthenticationResult"]
    assert idp.get_user(AccessToken=result["AccessToken"])["Username"] == "dora"
    idp.admin_disable_user(UserPoolId=pid, Username="dora")
    for call in [lambda: idp.get_user(AccessToken=result["AccessToken"]),
                 lambda: idp.update_user_attributes(AccessToken=result["AccessToken"], UserAttributes=[{"Name": "name", "Value": "x"}]),
                 lambda: idp.change_password(AccessToken=result["AccessToken"], PreviousPassword="Passw0rd!", ProposedPassword="Passw0rd!2"),
                 lambda: idp.global_sign_out(AccessToken=result["AccessToken"]),
                 lambda: idp.delete_user(AccessToken=result["AccessToken"]),
                 lambda: idp.initiate_auth(ClientId=cid, AuthFlow="REFRESH_TOKEN_AUTH", AuthParameters={"REFRESH_TOKEN": result["RefreshToken"]}),
                 lambda: password_sign_in(idp, cid, "dora", "Passw0rd!")]:
        with pytest.raises(idp.exceptions.NotAuthorizedException):
            call()
    # Enabling again does not bring the old tokens back; a new sign-in works.
    idp.admin_enable_user(UserPoolId=pid, Username="dora")
    with pytest.raises(idp.exceptions.NotAuthorizedException) as e:
        idp.get_user(AccessToken=result["AccessToken"])
    assert "revoked" in e.value.response["Error"]["Message"]
    fresh = password_sign_in(idp, cid, "dora", "Passw0rd!")["AuthenticationResult"]
    assert idp.get_user(AccessToken=fresh["AccessToken"])["Username"] == "dora"


def test_parallel_wrong_passwords_get_at_most_five_verdicts_and_the_right_one_is_not_revealed_while_locked(idp):
    pid, cid = new_pool(idp, "lockout")
    confirmed_user(idp, pid, "lou")

    def attempt(password):
        try:
            password_sign_in(idp, cid, "lou", password)
            return "ok"
        except idp.exceptions.NotAuthorizedException as e:
            return e.response["Error"]["Message"]

    with concurrent.futures.ThreadPoolExecutor(max_workers=16) as pool:
        outcomes = list(pool.map(attempt, [f"Wrong-{i}-passw0rd!" for i in range(40)]))
    wrong = outcomes.count("Incorrect username or password.")
    locked = outcomes.count("Password attempts exceeded")
    print("parallel guesses: incorrect", wrong, "locked", locked)
    assert 1 <= wrong <= 5 and wrong + locked == 40, outcomes
    # Locked now: even the right password gets no verdict.
    assert attempt("Passw0rd!") == "Password attempts exceeded"


def metric_sum(cluster, name):
    total = 0.0
    for i in cluster.ids:
        for line in cluster.metrics(i).splitlines():
            if line.startswith(name + " ") or line.startswith(name + "{"):
                total += float(line.split()[-1])
    return total


def test_unknown_and_known_users_look_alike_in_answers_locks_and_work_done(env, idp):
    cluster, front = env
    pid, cid = new_pool(idp, "existence", UsernameAttributes=["email"])
    confirmed_user(idp, pid, "known@example.com")

    def challenge(name):
        return idp.initiate_auth(ClientId=cid, AuthFlow="USER_SRP_AUTH",
                                 AuthParameters={"USERNAME": name, "SRP_A": "abcdef" * 20})["ChallengeParameters"]

    known, unknown = challenge("known@example.com"), challenge("unknown@example.com")
    assert sorted(known) == sorted(unknown)
    uuid = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
    assert uuid.match(known["USER_ID_FOR_SRP"]) and uuid.match(unknown["USER_ID_FOR_SRP"]), (known, unknown)
    assert challenge("unknown@example.com")["USER_ID_FOR_SRP"] == unknown["USER_ID_FOR_SRP"]
    # B is a random element below the 3072-bit N, in hex without leading zeros (as Java's
    # BigInteger prints it), so either may be a digit or two short of 768; both come from
    # the same draw whoever is named.
    for b in (known["SRP_B"], unknown["SRP_B"]):
        assert re.fullmatch(r"[1-9a-f][0-9a-f]{759,767}", b), b
    assert abs(len(known["SALT"]) - len(unknown["SALT"])) <= 2

    def work(name):
        before = metric_sum(cluster, "cognate_raft_proposals_total"), metric_sum(cluster, "cognate_user_shard_reads_total")
        with pytest.raises(idp.exceptions.NotAuthorizedException) as e:
            password_sign_in(idp, cid, name, "Wrong-passw0rd!")
        after = metric_sum(cluster, "cognate_raft_proposals_total"), metric_sum(cluster, "cognate_user_shard_reads_total")
        return e.value.response["Error"]["Message"], after[0] - before[0], after[1] - before[1]

    # Twice each, alternating; reads of user shards only (the front reloads pools and
    # clients from shard 0 on its cache's schedule); each name's least work is compared.
    known_runs, unknown_runs = [], []
    for _ in range(2):
        known_runs.append(work("known@example.com"))
        unknown_runs.append(work("unknown@example.com"))
    print("work per failed sign-in (message, writes, reads):", known_runs, unknown_runs)
    assert min(known_runs) == min(unknown_runs), (known_runs, unknown_runs)
    assert min(known_runs)[0] == "Incorrect username or password." and min(known_runs)[1] == 1, known_runs
    # Both lock after five failures, with the same words.
    messages = {}
    for name in ["known@example.com", "unknown@example.com"]:
        for _ in range(5):
            try:
                password_sign_in(idp, cid, name, "Wrong-passw0rd!")
            except idp.exceptions.NotAuthorizedException as e:
                messages.setdefault(name, []).append(e.response["Error"]["Message"])
    assert messages["known@example.com"] == messages["unknown@example.com"], messages
    assert messages["known@example.com"][-1] == "Password attempts exceeded"
    # SRP all the way: the same refusal.
    for name in ["known@example.com", "unknown@example.com"]:
        with pytest.raises(idp.exceptions.NotAuthorizedException) as e:
            AWSSRP(username=name, password="Wrong-passw0rd!", pool_id=pid, client_id=cid, client=idp).authenticate_user()
        assert e.value.response["Error"]["Message"] == "Password attempts exceeded"


def test_secret_hash_is_checked_at_every_step_and_client_secrets_compared(idp):
    pid = idp.create_user_pool(PoolName="secrets")["UserPool"]["Id"]
    client = idp.create_user_pool_client(UserPoolId=pid, ClientName="s", GenerateSecret=True, ExplicitAuthFlows=FLOWS)["UserPoolClient"]
    cid, secret = client["ClientId"], client["ClientSecret"]
    confirmed_user(idp, pid, "sam")
    aws = AWSSRP(username="sam", password="Passw0rd!", pool_id=pid, client_id=cid, client=idp, client_secret=secret)
    step1 = idp.initiate_auth(ClientId=cid, AuthFlow="USER_SRP_AUTH", AuthParameters=aws.get_auth_params())
    responses = aws.process_challenge(step1["ChallengeParameters"], aws.get_auth_params())
    good = dict(responses)
    del responses["SECRET_HASH"]
    with pytest.raises(idp.exceptions.NotAuthorizedException) as e:
        idp.respond_to_auth_challenge(ClientId=cid, ChallengeName="PASSWORD_VERIFIER", ChallengeResponses=responses)
    assert "secret hash" in e.value.response["Error"]["Message"]
    result = idp.respond_to_auth_challenge(ClientId=cid, ChallengeName="PASSWORD_VERIFIER", ChallengeResponses=good)
    refresh = result["AuthenticationResult"]["RefreshToken"]
    with pytest.raises(idp.exceptions.NotAuthorizedException):
        idp.get_tokens_from_refresh_token(ClientId=cid, RefreshToken=refresh, ClientSecret=secret[:-1] + "x")
    assert idp.get_tokens_from_refresh_token(ClientId=cid, RefreshToken=refresh, ClientSecret=secret)["AuthenticationResult"]


def raw_call(front, operation, body):
    """A signed call with a body botocore would refuse to send (out-of-range numbers)."""
    import botocore.auth
    import botocore.awsrequest
    import botocore.credentials
    request = botocore.awsrequest.AWSRequest(
        method="POST", url=front.endpoint + "/", data=json.dumps(body).encode(),
        headers={"X-Amz-Target": f"AWSCognitoIdentityProviderService.{operation}",
                 "Content-Type": "application/x-amz-json-1.1"})
    botocore.auth.SigV4Auth(botocore.credentials.Credentials("cognate", "cognate-local-secret"),
                            "cognito-idp", "us-east-1").add_auth(request)
    prepared = request.prepare()
    req = urllib.request.Request(prepared.url, data=prepared.body, headers=dict(prepared.headers), method="POST")
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, json.load(r)
    except urllib.error.HTTPError as e:
        return e.code, json.load(e)


def test_token_lifetimes_are_bounded_to_cognitos_ranges(env, idp):
    _, front = env
    pid = idp.create_user_pool(PoolName="validity")["UserPool"]["Id"]
    for body in [{"AccessTokenValidity": 2 ** 62}, {"RefreshTokenValidity": 2 ** 62},
                 {"AccessTokenValidity": 25, "TokenValidityUnits": {"AccessToken": "hours"}},
                 {"IdTokenValidity": 4, "TokenValidityUnits": {"IdToken": "minutes"}},
                 {"RefreshTokenValidity": 3651}, {"AccessTokenValidity": 1, "TokenValidityUnits": {"AccessToken": "weeks"}}]:
        status, reply = raw_call(front, "CreateUserPoolClient", {"UserPoolId": pid, "ClientName": "v", **body})
        assert status == 400 and reply["__type"] in ("InvalidParameterException", "SerializationException"), (body, reply)
    ok = idp.create_user_pool_client(UserPoolId=pid, ClientName="v", AccessTokenValidity=1, RefreshTokenValidity=3650,
                                     ExplicitAuthFlows=FLOWS)["UserPoolClient"]
    confirmed_user(idp, pid, "val")
    result = password_sign_in(idp, ok["ClientId"], "val", "Passw0rd!")["AuthenticationResult"]
    assert result["ExpiresIn"] == 3600  # 1, in hours by default


def test_data_and_key_files_are_private(env):
    cluster, _ = env
    def mode(path):
        return stat.S_IMODE(os.stat(path).st_mode)
    for i in cluster.ids:
        data = os.path.join(cluster.directory, f"node{i}")
        assert mode(data) == 0o700, data
        for name in ["data.mdb", "raft.wal"]:
            assert mode(os.path.join(data, name)) == 0o600, name
        assert mode(os.path.join(cluster.tls, f"node{i}.key")) == 0o600
    assert mode(os.path.join(cluster.tls, "ca.key")) == 0o600
    assert mode(os.path.join(cluster.directory, "master.key")) == 0o600


def test_a_front_without_a_master_key_refuses_to_start(tmp_path):
    cluster = NodeCluster(str(tmp_path))
    os.remove(os.path.join(str(tmp_path), "master.key"))
    env = {k: v for k, v in os.environ.items() if k != "COGNATE_MASTER_KEY"}
    r = subprocess.run([COGNATE, "front", "--config", cluster.config, "--listen", "127.0.0.1:1"],
                       capture_output=True, text=True, timeout=30, env=env)
    assert r.returncode != 0
    assert "cannot read the master key file" in r.stderr and "cognate keys create" in r.stderr, r.stderr
    with open(os.path.join(str(tmp_path), "master.key"), "w") as f:
        f.write("1:not-hex\n")
    r = subprocess.run([COGNATE, "front", "--config", cluster.config, "--listen", "127.0.0.1:1"],
                       capture_output=True, text=True, timeout=30, env=env)
    assert r.returncode != 0 and "id:64-hex-digits" in r.stderr, r.stderr


def test_rotating_the_master_key_keeps_earlier_tokens_and_challenges_valid(env, idp):
    cluster, front = env
    pid, cid = new_pool(idp, "rotate")
    confirmed_user(idp, pid, "rita")
    before = password_sign_in(idp, cid, "rita", "Passw0rd!")["AuthenticationResult"]
    aws = AWSSRP(username="rita", password="Passw0rd!", pool_id=pid, client_id=cid, client=idp)
    step1 = idp.initiate_auth(ClientId=cid, AuthFlow="USER_SRP_AUTH", AuthParameters=aws.get_auth_params())
    rotated = subprocess.run([COGNATE, "keys", "rotate", "--config", cluster.config], capture_output=True, text=True, check=True)
    assert "added master key 2" in rotated.stdout
    # A new front reads both keys: it opens what the old key sealed and seals with the new one.
    second = Front(cluster)
    try:
        idp2 = second.client()
        responses = aws.process_challenge(step1["ChallengeParameters"], aws.get_auth_params())
        assert idp2.respond_to_auth_challenge(ClientId=cid, ChallengeName="PASSWORD_VERIFIER",
                                              ChallengeResponses=responses)["AuthenticationResult"]
        refreshed = idp2.initiate_auth(ClientId=cid, AuthFlow="REFRESH_TOKEN_AUTH",
                                       AuthParameters={"REFRESH_TOKEN": before["RefreshToken"]})
        assert refreshed["AuthenticationResult"]["AccessToken"]
        after = password_sign_in(idp2, cid, "rita", "Passw0rd!")["AuthenticationResult"]
        import base64
        token = after["RefreshToken"]  # base64url without padding
        box = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        assert int.from_bytes(box[1:5], "big") == 2  # sealed with the new key's id
        # The first front picks the new key up when it meets it.
        assert idp.initiate_auth(ClientId=cid, AuthFlow="REFRESH_TOKEN_AUTH",
                                 AuthParameters={"REFRESH_TOKEN": after["RefreshToken"]})["AuthenticationResult"]
    finally:
        second.stop()


def test_code_operations_answer_unknown_names_as_known_ones(env, idp):
    """PreventUserExistenceErrors = ENABLED: each public code operation, for a user and for a
    name no user has, six times in a row: the same answers (destinations masked alike), the
    same Raft writes and reads, and LimitExceeded at the same call."""
    cluster, _ = env
    pid, cid = new_pool(idp, "codes", AutoVerifiedAttributes=["email"])

    def shape(call):
        before = metric_sum(cluster, "cognate_raft_proposals_total"), metric_sum(cluster, "cognate_user_shard_reads_total")
        try:
            r = call()
            d = r.get("CodeDeliveryDetails") or {}
            masked = re.sub(r"^[^*@]\*\*\*@[^*]\*\*\*$", "x***@y***", d.get("Destination", ""))
            outcome = f"{d.get('DeliveryMedium')} {d.get('AttributeName')} {masked}"
        except botocore.exceptions.ClientError as e:
            outcome = f"{e.response['Error']['Code']}: {e.response['Error']['Message']}"
        after = metric_sum(cluster, "cognate_raft_proposals_total"), metric_sum(cluster, "cognate_user_shard_reads_total")
        return outcome, after[0] - before[0], after[1] - before[1]

    def first_delivery(prefix):
        # One name in eight is answered as a user with no verified channel would be
        # (InvalidParameterException), as Cognito alternates; pick names answered by delivery.
        for i in range(64):
            name = f"{prefix}{i}"
            outcome = shape(lambda: idp.resend_confirmation_code(ClientId=cid, Username=name))[0]
            if "Exception" not in outcome:
                return name
        raise AssertionError("no name answered with a delivery")

    confirmed_user(idp, pid, "alice", attributes=[{"Name": "email", "Value": "alice@gmail.com"},
                                                 {"Name": "email_verified", "Value": "true"}])
    idp.sign_up(ClientId=cid, Username="carol", Password="Passw0rd!",
                UserAttributes=[{"Name": "email", "Value": "carol@gmail.com"}])
    stranger = first_delivery("stranger")  # one resend spent, as carol's sign-up spent one
    cases = {
        "ResendConfirmationCode": (lambda n: idp.resend_confirmation_code(ClientId=cid, Username=n), "carol", stranger),
        "ConfirmSignUp": (lambda n: idp.confirm_sign_up(ClientId=cid, Username=n, ConfirmationCode="000000"),
                          "carol", stranger),
        "ForgotPassword": (lambda n: idp.forgot_password(ClientId=cid, Username=n), "alice", None),
        "ConfirmForgotPassword": (lambda n: idp.confirm_forgot_password(
            ClientId=cid, Username=n, ConfirmationCode="000000", Password="Passw0rd!new"), "alice", None),
    }
    other = first_delivery("other")  # likewise one code spent
    idp.forgot_password(ClientId=cid, Username="alice")  # and one of alice's
    for operation, (call, known, unknown) in cases.items():
        unknown = unknown or other
        runs = [(shape(lambda: call(known)), shape(lambda: call(unknown))) for _ in range(6)]
        print(operation, runs)
        for i, (k, u) in enumerate(runs):
            # Reads of user shards only: the front reloads pools and clients (shard 0) on its
            # cache's schedule, not the operation's.
            assert k == u, (operation, i, runs)
        assert "LimitExceededException" in runs[-1][0][0], (operation, runs)
