#!/usr/bin/env bash
# Cognito's CSV user import on a real 3-node cluster: a pool's GetCSVHeader, a CSV of USERS
# rows written to the job's pre-signed URL, StartUserImportJob, then DescribeUserImportJob
# until it finishes; prints the upload time, the import time and rate, and checks that
# every user arrived RESET_REQUIRED.
#   Benchmarks/csv-import.sh [COGNATE] [USERS]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bin=$(realpath "${1:-$root/.build/release/cognate}")
users=${2:-100000}
python=${PYTHON:-$root/.venv/bin/python}
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null; wait 2>/dev/null; rm -rf "$work"' EXIT
source "$(dirname "$0")/lib/three-nodes.sh"

three_node_definition "$work/a" "$bin"
for i in 1 2 3; do "$bin" node --config "$work/a/cluster.toml" --id $i --log-level warning 2>>"$work/nodes.log" & done
"$bin" front --config "$work/a/cluster.toml" --log-level warning 2>>"$work/front.log" &
for _ in $(seq 1 300); do curl -sf -o /dev/null "http://127.0.0.1:$front_port/health" && break; sleep 0.1; done

"$python" - "http://127.0.0.1:$front_port" "$users" <<'PY'
import csv, io, random, sys, time, urllib.request
import boto3
endpoint, users = sys.argv[1], int(sys.argv[2])
idp = boto3.client("cognito-idp", endpoint_url=endpoint, region_name="us-east-1",
                   aws_access_key_id="cognate", aws_secret_access_key="cognate-local-secret")
pool = idp.create_user_pool(PoolName="csv-import", AutoVerifiedAttributes=["email"])["UserPool"]["Id"]
header = idp.get_csv_header(UserPoolId=pool)["CSVHeader"]
out = io.StringIO()
w = csv.writer(out, lineterminator="\n")
w.writerow(header)
for i in range(users):
    row = {"cognito:username": f"csv-user-{i}", "cognito:mfa_enabled": "false", "email": f"csv-user-{i}@example.com",
           "email_verified": "true", "given_name": f"User {i}"}
    w.writerow([row.get(c, "") for c in header])
body = out.getvalue().encode()
job = idp.create_user_import_job(JobName="bench", UserPoolId=pool,
                                 CloudWatchLogsRoleArn="arn:aws:iam::123456789012:role/CognitoImport")["UserImportJob"]
start = time.time()
request = urllib.request.Request(job["PreSignedUrl"], data=body, method="PUT",
                                 headers={"x-amz-server-side-encryption": "aws:kms"})
with urllib.request.urlopen(request, timeout=600) as r:
    assert r.status == 200
uploaded = time.time() - start
idp.start_user_import_job(UserPoolId=pool, JobId=job["JobId"])
start = time.time()
while True:
    d = idp.describe_user_import_job(UserPoolId=pool, JobId=job["JobId"])["UserImportJob"]
    if d["Status"] in ("Succeeded", "Failed", "Stopped"):
        break
    assert time.time() - start < 3600, d
    time.sleep(1)
took = time.time() - start
print(f"CSV of {users} rows, {len(body)} bytes: uploaded to the job's URL in {uploaded:.1f} s")
print(f"import job {d['Status']} in {took:.1f} s ({d['ImportedUsers'] / took:.0f} users/s): "
      f"{d['ImportedUsers']} imported, {d['SkippedUsers']} skipped, {d['FailedUsers']} failed")
count = idp.describe_user_pool(UserPoolId=pool)["UserPool"]["EstimatedNumberOfUsers"]
sample = random.Random(3).sample(range(users), min(100, users))
statuses = {idp.admin_get_user(UserPoolId=pool, Username=f"csv-user-{i}")["UserStatus"] for i in sample}
print(f"pool: {count} users; {len(sample)} sampled, statuses {sorted(statuses)}")
sys.exit(0 if d["Status"] == "Succeeded" and d["ImportedUsers"] == users and count == users
         and statuses == {"RESET_REQUIRED"} else 1)
PY
