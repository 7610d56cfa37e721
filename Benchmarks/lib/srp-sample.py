"""Signs in SAMPLE of a pool's `bench signin` users (bench-user-N, picked at random with SEED)
by SRP (pycognito) with their password, then one with a wrong password; prints one line and
exits 1 unless every one signed in, the pool holds USERS users and the wrong password was
refused. CLIENT is `new` (an app client is created: an import brings none) or `first` (the
pool's first client, as a restore brings them back).
  srp-sample.py ENDPOINT POOL USERS SAMPLE SEED CLIENT LABEL"""
import random
import sys
import time

import boto3
from pycognito.aws_srp import AWSSRP

endpoint, pool, users, sample, seed, which, label = sys.argv[1:8]
users, sample = int(users), int(sample)
idp = boto3.client("cognito-idp", endpoint_url=endpoint, region_name="us-east-1",
                   aws_access_key_id="cognate", aws_secret_access_key="cognate-local-secret")
count = idp.describe_user_pool(UserPoolId=pool)["UserPool"]["EstimatedNumberOfUsers"]
if which == "new":
    cid = idp.create_user_pool_client(UserPoolId=pool, ClientName="sample")["UserPoolClient"]["ClientId"]
else:
    cid = idp.list_user_pool_clients(UserPoolId=pool, MaxResults=60)["UserPoolClients"][0]["ClientId"]
picked = random.Random(int(seed)).sample(range(users), min(sample, users))
start, ok = time.time(), 0
for i in picked:
    r = AWSSRP(username=f"bench-user-{i}", password="Bench-Passw0rd!", pool_id=pool, client_id=cid,
               client=idp).authenticate_user()
    ok += bool(r["AuthenticationResult"]["AccessToken"])
try:
    AWSSRP(username=f"bench-user-{picked[0]}", password="Wrong-Passw0rd!", pool_id=pool, client_id=cid,
           client=idp).authenticate_user()
    wrong = "ACCEPTED (wrong)"
except idp.exceptions.NotAuthorizedException:
    wrong = "refused"
print(f"{label}: {count} users in the pool; {ok} of {len(picked)} random users signed in by SRP with their "
      f"password ({time.time() - start:.1f} s); a wrong password: {wrong}")
sys.exit(0 if ok == len(picked) and count == users and wrong == "refused" else 1)
