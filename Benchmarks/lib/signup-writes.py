"""Raft writes per SignUp, counted on a running cluster: the shards' commit indexes (the
highest any node reports) before and after N sign-ups through boto3, without and with an
email alias. Prints one JSON object.
    signup-writes.py ENDPOINT ADMIN_ADDR[,ADMIN_ADDR…] [N]"""
import json
import sys
import urllib.request

import boto3

endpoint, admins = sys.argv[1], sys.argv[2].split(",")
n = int(sys.argv[3]) if len(sys.argv) > 3 else 100
idp = boto3.client("cognito-idp", endpoint_url=endpoint, region_name="us-east-1",
                   aws_access_key_id="cognate", aws_secret_access_key="cognate-local-secret")


def commits():
    best = {}
    for a in admins:
        status = json.load(urllib.request.urlopen(f"http://{a}/status", timeout=5))
        for s in status["shards"]:
            best[s["shard"]] = max(best.get(s["shard"], 0), s["commit"])
    return sum(best.values())


def per_signup(alias):
    pool = idp.create_user_pool(PoolName="writes", **({"AliasAttributes": ["email"]} if alias else {}))
    pid = pool["UserPool"]["Id"]
    cid = idp.create_user_pool_client(UserPoolId=pid, ClientName="w")["UserPoolClient"]["ClientId"]
    before = commits()
    for i in range(n):
        attrs = [{"Name": "email", "Value": f"w{i}@example.com"}] if alias else []
        idp.sign_up(ClientId=cid, Username=f"w{i}", Password="Passw0rd!", UserAttributes=attrs)
    return (commits() - before) / n


print(json.dumps({"signups": n, "writesPerSignUp": per_signup(False), "writesPerSignUpWithEmailAlias": per_signup(True)}))
