"""`cognate users export` and `import`: a pool's users, with their passwords, out of one cluster
and into a fresh one; real SRP sign-ins (pycognito) with the old passwords afterwards."""
import hashlib
import json
import os
import subprocess

import pytest
from pycognito.aws_srp import AWSSRP

from conftest import COGNATE, Front, NodeCluster


def users(*args):
    return subprocess.run([COGNATE, "users", *args], capture_output=True, text=True, timeout=600)


def srp(idp, pid, cid, name, password):
    return AWSSRP(username=name, password=password, pool_id=pid, client_id=cid, client=idp).authenticate_user()


@pytest.fixture(scope="module")
def exported(front, tmp_path_factory):
    """A pool with an email alias, a group and 30 users with permanent passwords, exported."""
    idp = front.client()
    pid = idp.create_user_pool(PoolName="exported", AliasAttributes=["email"])["UserPool"]["Id"]
    idp.create_group(UserPoolId=pid, GroupName="staff", Precedence=3)
    for i in range(30):
        name = f"user{i:02d}"
        idp.admin_create_user(UserPoolId=pid, Username=name, MessageAction="SUPPRESS", TemporaryPassword="Temp0rary!",
                              UserAttributes=[{"Name": "email", "Value": f"{name}@example.com"},
                                              {"Name": "email_verified", "Value": "true"}])
        idp.admin_set_user_password(UserPoolId=pid, Username=name, Password=f"Passw0rd-{i}!", Permanent=True)
        if i % 3 == 0:
            idp.admin_add_user_to_group(UserPoolId=pid, Username=name, GroupName="staff")
    # One user still to change a temporary password: exported as FORCE_CHANGE_PASSWORD.
    idp.admin_create_user(UserPoolId=pid, Username="pending", MessageAction="SUPPRESS", TemporaryPassword="Temp0rary!")
    directory = tmp_path_factory.mktemp("export")
    key, out = str(directory / "export.key"), str(directory / "users.jsonl")
    run = users("export", "--config", front.cluster.config, "--pool", pid, "--out", out, "--key", key, "--json")
    assert run.returncode == 0, run.stderr
    assert "created the export key" in run.stderr
    report = json.loads(run.stdout)
    assert report["users"] == 31 and report["groups"] == 1
    assert oct(os.stat(out).st_mode & 0o777) == "0o600" and oct(os.stat(key).st_mode & 0o777) == "0o600"
    return pid, key, out


@pytest.fixture(scope="module")
def second(tmp_path_factory):
    """A fresh cluster of its own: other certificates, other master keys."""
    cluster = NodeCluster(str(tmp_path_factory.mktemp("second")))
    cluster.start_all()
    f = Front(cluster)
    yield f
    f.stop()
    cluster.stop_all()


def test_export_file_keeps_verifiers_sealed(exported):
    pid, _, out = exported
    with open(out) as f:
        lines = [json.loads(line) for line in f]
    assert lines[0]["header"]["pool"]["id"] == pid and "signingKey" not in lines[0]["header"]["pool"]
    assert [g["name"] for g in lines[0]["header"]["groups"]] == ["staff"]
    records = [line["user"] for line in lines[1:-1]]
    assert len(records) == 31 and lines[-1]["end"]["users"] == 31
    assert all("verifier" not in r and line["sealed"] for r, line in zip(records, lines[1:-1]))
    assert sum(1 for r in records if r.get("groups") == ["staff"]) == 10


def test_import_into_a_fresh_cluster_signs_in_with_the_old_passwords(exported, second):
    pid, key, out = exported
    run = users("import", "--config", second.cluster.config, "--in", out, "--key", key, "--json")
    assert run.returncode == 0, run.stderr
    report = json.loads(run.stdout)
    assert report["users"] == 31 and report["poolCreated"] and report["groups"] == 1 and report["failed"] == 0
    idp = second.client()
    assert idp.describe_user_pool(UserPoolId=pid)["UserPool"]["EstimatedNumberOfUsers"] == 31
    cid = idp.create_user_pool_client(UserPoolId=pid, ClientName="after-import")["UserPoolClient"]["ClientId"]
    for i in (0, 7, 29):
        tokens = srp(idp, pid, cid, f"user{i:02d}", f"Passw0rd-{i}!")["AuthenticationResult"]
        assert tokens["AccessToken"] and tokens["IdToken"]
    with pytest.raises(idp.exceptions.NotAuthorizedException):
        srp(idp, pid, cid, "user07", "Passw0rd-8!")
    # The email alias came with its claim: the user signs in by it, and it stays unique.
    assert srp(idp, pid, cid, "user03@example.com", "Passw0rd-3!")["AuthenticationResult"]["AccessToken"]
    with pytest.raises(idp.exceptions.AliasExistsException):
        idp.admin_create_user(UserPoolId=pid, Username="copycat", MessageAction="SUPPRESS",
                              UserAttributes=[{"Name": "email", "Value": "user03@example.com"},
                                              {"Name": "email_verified", "Value": "true"}])
    assert idp.admin_get_user(UserPoolId=pid, Username="pending")["UserStatus"] == "FORCE_CHANGE_PASSWORD"
    members = idp.list_users_in_group(UserPoolId=pid, GroupName="staff")["Users"]
    assert sorted(u["Username"] for u in members) == [f"user{i:02d}" for i in range(0, 30, 3)]
    assert [g["GroupName"] for g in idp.admin_list_groups_for_user(UserPoolId=pid, Username="user03")["Groups"]] == ["staff"]

    # Again: every user is already there, and left alone.
    again = users("import", "--config", second.cluster.config, "--in", out, "--key", key, "--json")
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout)["present"] == 31 and json.loads(again.stdout)["users"] == 0


def test_import_refuses_a_wrong_key_an_altered_file_and_another_pool_name(exported, second, tmp_path):
    pid, key, out = exported
    wrong = tmp_path / "wrong.key"
    wrong.write_text("00" * 32 + "\n")
    run = users("import", "--config", second.cluster.config, "--in", out, "--key", str(wrong))
    assert run.returncode != 0 and "do not open with this key" in run.stderr
    with open(out) as f:
        lines = f.readlines()
    altered = tmp_path / "altered.jsonl"
    # An attribute of the first user record changed: not bound to its sealed secrets, so only
    # the file's end line can tell. Which users come first follows the pool id's hashing, so
    # the edit names its line, not a user (a text replace of "user0" found none in one run
    # of five, when no user0… came first).
    first = json.loads(lines[1])
    first["user"].setdefault("attributes", {})["family_name"] = "Mallory"
    altered.write_text(lines[0] + json.dumps(first) + "\n" + "".join(lines[2:]))
    run = users("import", "--config", second.cluster.config, "--in", str(altered), "--key", key)
    assert run.returncode != 0 and "was altered" in run.stderr
    cut = tmp_path / "cut.jsonl"
    cut.write_text("".join(lines[:-1]))
    run = users("import", "--config", second.cluster.config, "--in", str(cut), "--key", key)
    assert run.returncode != 0 and "incomplete" in run.stderr
    # Two users' sealed secrets swapped. Whoever lacks the key cannot make the end line match
    # (it is an HMAC keyed from it, not a bare hash anyone can recompute) …
    swapped = [json.loads(line) for line in lines[:-1]]
    swapped[2]["sealed"], swapped[3]["sealed"] = swapped[3]["sealed"], swapped[2]["sealed"]
    body = "".join(json.dumps(x, sort_keys=True) + "\n" for x in swapped)
    bare = tmp_path / "bare.jsonl"
    for end in [{"end": {"sha256": hashlib.sha256(body.encode()).hexdigest(), "users": len(swapped) - 1}},
                {"end": {"hmac": hashlib.sha256(body.encode()).hexdigest(), "users": len(swapped) - 1}}]:
        bare.write_text(body + json.dumps(end) + "\n")
        run = users("import", "--config", second.cluster.config, "--in", str(bare), "--key", key)
        assert run.returncode != 0 and "was altered" in run.stderr, run.stderr
    # … and with the key, the end line made to match, those two users fail alone.
    import hmac
    ikm = bytes.fromhex(open(key).read().strip())
    prk = hmac.new(b"", ikm, hashlib.sha256).digest()
    end_key = hmac.new(prk, b"cognate-users end line\x01", hashlib.sha256).digest()
    end = {"end": {"hmac": hmac.new(end_key, body.encode(), hashlib.sha256).hexdigest(), "users": len(swapped) - 1}}
    resealed = tmp_path / "swapped.jsonl"
    resealed.write_text(body + json.dumps(end) + "\n")
    run = users("import", "--config", second.cluster.config, "--in", str(resealed), "--key", key, "--json")
    assert run.returncode == 1, run.stderr
    report = json.loads(run.stdout)
    assert report["failed"] == 2 and report["present"] == 29 and "do not open with this key" in report["firstFailure"]
    other = second.client().create_user_pool(PoolName="other")["UserPool"]["Id"]
    run = users("import", "--config", second.cluster.config, "--in", out, "--key", key, "--pool", other)
    assert run.returncode == 1 and "only work in a pool whose id ends in" in run.stderr + run.stdout


def test_get_csv_header_is_cognitos(front):
    idp = front.client()
    pid = idp.create_user_pool(PoolName="csv", Schema=[{"Name": "joinedOn", "AttributeDataType": "String"}])["UserPool"]["Id"]
    header = idp.get_csv_header(UserPoolId=pid)
    assert header["UserPoolId"] == pid
    assert header["CSVHeader"] == [
        "name", "given_name", "family_name", "middle_name", "nickname", "preferred_username", "profile", "picture",
        "website", "email", "email_verified", "gender", "birthdate", "zoneinfo", "locale", "phone_number",
        "phone_number_verified", "address", "updated_at", "custom:joinedOn", "cognito:mfa_enabled", "cognito:username"]
    with pytest.raises(idp.exceptions.ResourceNotFoundException):
        idp.get_csv_header(UserPoolId="us-east-1_nothere1")
