"""Cognito's CSV user import jobs through boto3: GetCSVHeader, CreateUserImportJob, the file
PUT to the job's pre-signed URL (as `curl -T` does to S3), StartUserImportJob, Describe /
List / Stop; imported users arrive RESET_REQUIRED and set a password through ForgotPassword
with the code a real SMTP server receives."""
import csv
import io
import select
import socket
import time
from urllib.parse import urlsplit
import urllib.error
import urllib.request

import pytest

from test_messages import channels, code_in, text_of  # noqa: F401 (a fixture and helpers)

ROLE = "arn:aws:iam::123456789012:role/CognitoImport"


def put(url, body):
    request = urllib.request.Request(url, data=body, method="PUT",
                                     headers={"x-amz-server-side-encryption": "aws:kms", "Content-Type": "text/csv"})
    try:
        with urllib.request.urlopen(request, timeout=60) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def finished(c, pool, job, timeout=180):
    """The job once it is Succeeded, Failed or Stopped."""
    deadline = time.time() + timeout
    while True:
        described = c.describe_user_import_job(UserPoolId=pool, JobId=job)["UserImportJob"]
        if described["Status"] in ("Succeeded", "Failed", "Stopped"):
            return described
        assert time.time() < deadline, f"job still {described['Status']} after {timeout} s"
        time.sleep(0.2)


def csv_file(header, rows):
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\r\n")
    w.writerow(header)
    for row in rows:
        w.writerow([row.get(column, "") for column in header])
    return out.getvalue().encode()


def user_row(name, verified="true", mfa="false", **attributes):
    return {"cognito:username": name, "cognito:mfa_enabled": mfa, "email": f"{name}@example.com",
            "email_verified": verified, **attributes}


@pytest.fixture(scope="module")
def pool(channels):  # noqa: F811
    c = channels["front"].client()
    pid = c.create_user_pool(
        PoolName="imports", AutoVerifiedAttributes=["email"],
        Schema=[{"Name": "team", "AttributeDataType": "String", "Mutable": True}],
        AccountRecoverySetting={"RecoveryMechanisms": [{"Name": "verified_email", "Priority": 1}]})["UserPool"]["Id"]
    cid = c.create_user_pool_client(UserPoolId=pid, ClientName="app",
                                    ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH"])["UserPoolClient"]["ClientId"]
    return pid, cid, c.get_csv_header(UserPoolId=pid)["CSVHeader"]


def test_an_import_job_creates_users_that_reset_their_password(channels, pool):  # noqa: F811
    c, mail = channels["front"].client(), channels["mail"]
    pid, cid, header = pool
    assert "custom:team" in header and header[-2:] == ["cognito:mfa_enabled", "cognito:username"]
    c.admin_create_user(UserPoolId=pid, Username="existing", MessageAction="SUPPRESS",
                        UserAttributes=[{"Name": "email", "Value": "existing@example.com"}])
    rows = [user_row("alice", given_name="Alice", **{"custom:team": 'red, "blue"'}),
            user_row("existing"),
            user_row("unverified", verified="false"),
            user_row("badmail", email="not-an-email"),
            user_row("withmfa", mfa="true")]
    rows += [user_row(f"bulk{i:03d}") for i in range(300)]
    body = csv_file(list(reversed(header)), rows)  # the columns in any order

    job = c.create_user_import_job(JobName="first import", UserPoolId=pid, CloudWatchLogsRoleArn=ROLE)["UserImportJob"]
    assert job["Status"] == "Created" and job["JobId"].startswith("import-") and job["JobName"] == "first import"
    assert job["CloudWatchLogsRoleArn"] == ROLE and job["ImportedUsers"] == 0
    url = job["PreSignedUrl"]
    assert url.startswith(channels["front"].endpoint + "/_cognate/import/")
    with pytest.raises(c.exceptions.PreconditionNotMetException):
        c.start_user_import_job(UserPoolId=pid, JobId=job["JobId"])  # no file yet

    status, _ = put(url.replace("secret=", "secret=x"), body)
    assert status == 403
    status, text = put(url, body)
    assert status == 200, text
    # The URL takes one file: a second is refused, and the job imports the first.
    status, text = put(url, csv_file(header, [user_row("replaced")]))
    assert status == 409 and "used" in text, (status, text)
    started = c.start_user_import_job(UserPoolId=pid, JobId=job["JobId"])["UserImportJob"]
    assert started["Status"] in ("Pending", "InProgress") and "StartDate" in started
    status, _ = put(url, body)
    assert status == 409  # a started job takes no new file

    done = finished(c, pid, job["JobId"])
    assert done["Status"] == "Succeeded", done
    assert (done["ImportedUsers"], done["SkippedUsers"], done["FailedUsers"]) == (301, 1, 3), done
    assert "line 4" in done["CompletionMessage"] and "CompletionDate" in done

    alice = c.admin_get_user(UserPoolId=pid, Username="alice")
    attributes = {a["Name"]: a["Value"] for a in alice["UserAttributes"]}
    assert alice["UserStatus"] == "RESET_REQUIRED"
    assert attributes["custom:team"] == 'red, "blue"' and attributes["given_name"] == "Alice"
    assert attributes["email_verified"] == "true" and len(attributes["sub"]) == 36
    assert c.admin_get_user(UserPoolId=pid, Username="bulk299")["UserStatus"] == "RESET_REQUIRED"
    for refused in ("unverified", "badmail", "withmfa", "replaced"):
        with pytest.raises(c.exceptions.UserNotFoundException):
            c.admin_get_user(UserPoolId=pid, Username=refused)

    # RESET_REQUIRED: no password works until the user sets one with a code.
    with pytest.raises(c.exceptions.PasswordResetRequiredException):
        c.initiate_auth(ClientId=cid, AuthFlow="USER_PASSWORD_AUTH",
                        AuthParameters={"USERNAME": "alice", "PASSWORD": "Anything1!"})
    c.forgot_password(ClientId=cid, Username="alice")
    code = code_in(text_of(mail.wait_for("alice@example.com")[0]))
    c.confirm_forgot_password(ClientId=cid, Username="alice", ConfirmationCode=code, Password="N3w-Passw0rd!")
    tokens = c.initiate_auth(ClientId=cid, AuthFlow="USER_PASSWORD_AUTH",
                             AuthParameters={"USERNAME": "alice", "PASSWORD": "N3w-Passw0rd!"})
    assert tokens["AuthenticationResult"]["AccessToken"]
    assert c.admin_get_user(UserPoolId=pid, Username="alice")["UserStatus"] == "CONFIRMED"

    # A finished job neither starts nor stops again.
    with pytest.raises(c.exceptions.PreconditionNotMetException):
        c.start_user_import_job(UserPoolId=pid, JobId=job["JobId"])
    with pytest.raises(c.exceptions.PreconditionNotMetException):
        c.stop_user_import_job(UserPoolId=pid, JobId=job["JobId"])


def test_a_running_job_stops_and_jobs_are_listed(channels, pool):  # noqa: F811
    c = channels["front"].client()
    pid, _, header = pool
    job = c.create_user_import_job(JobName="to stop", UserPoolId=pid, CloudWatchLogsRoleArn=ROLE)["UserImportJob"]
    status, text = put(job["PreSignedUrl"], csv_file(header, [user_row(f"stop{i:04d}") for i in range(3000)]))
    assert status == 200, text
    c.start_user_import_job(UserPoolId=pid, JobId=job["JobId"])
    stopping = c.stop_user_import_job(UserPoolId=pid, JobId=job["JobId"])["UserImportJob"]
    assert stopping["Status"] == "Stopping"
    done = finished(c, pid, job["JobId"])
    assert done["Status"] == "Stopped" and done["ImportedUsers"] < 3000, done

    listed, token = [], None
    while True:
        page = c.list_user_import_jobs(UserPoolId=pid, MaxResults=1, **({"PaginationToken": token} if token else {}))
        listed += page["UserImportJobs"]
        assert len(page["UserImportJobs"]) <= 1
        token = page.get("PaginationToken")
        if not token:
            break
    assert job["JobId"] in [j["JobId"] for j in listed] and len(listed) >= 2


def test_a_file_that_is_not_the_pools_csv_fails_the_job(channels, pool):  # noqa: F811
    c = channels["front"].client()
    pid, _, header = pool
    cases = [(csv_file([h for h in header if h != "email_verified"], [user_row("x1")]), "missing columns email_verified"),
             (b",".join(h.encode() for h in header) + b'\r\n"unterminated', "unable to parse")]
    for body, reason in cases:
        job = c.create_user_import_job(JobName="bad", UserPoolId=pid, CloudWatchLogsRoleArn=ROLE)["UserImportJob"]
        assert put(job["PreSignedUrl"], body)[0] == 200
        c.start_user_import_job(UserPoolId=pid, JobId=job["JobId"])
        done = finished(c, pid, job["JobId"])
        assert done["Status"] == "Failed" and reason in done["CompletionMessage"], done

    with pytest.raises(c.exceptions.ResourceNotFoundException):
        c.describe_user_import_job(UserPoolId=pid, JobId="import-doesnotexist")
    with pytest.raises(c.exceptions.ClientError) as e:
        c.create_user_import_job(JobName="hashes", UserPoolId=pid, CloudWatchLogsRoleArn=ROLE,
                                 PasswordHashingAlgorithm="BCRYPT")
    assert e.value.response["Error"]["Code"] == "UnsupportedOperationException"
    with pytest.raises(c.exceptions.InvalidParameterException):
        c.create_user_import_job(JobName="no role", UserPoolId=pid, CloudWatchLogsRoleArn="this-is-not-an-iam-role-arn")
    # A pool without auto-verified attributes cannot send reset codes: its jobs do not start.
    plain = c.create_user_pool(PoolName="plain")["UserPool"]["Id"]
    job = c.create_user_import_job(JobName="plain", UserPoolId=plain, CloudWatchLogsRoleArn=ROLE)["UserImportJob"]
    plain_header = c.get_csv_header(UserPoolId=plain)["CSVHeader"]
    assert put(job["PreSignedUrl"], csv_file(plain_header, [user_row("p1")]))[0] == 200
    with pytest.raises(c.exceptions.PreconditionNotMetException):
        c.start_user_import_job(UserPoolId=plain, JobId=job["JobId"])


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("VmRSS:"))


def open_upload(url, length):
    """A PUT to `url` whose headers and first bytes are sent and whose body never ends."""
    parts = urlsplit(url)
    s = socket.create_connection((parts.hostname, parts.port), timeout=30)
    s.sendall(f"PUT {parts.path}?{parts.query} HTTP/1.1\r\nHost: {parts.netloc}\r\n"
              f"Content-Type: text/csv\r\nContent-Length: {length}\r\n\r\n".encode() + b"x" * 1000)
    return s


def answer_of(s):
    s.settimeout(30)
    data = b""
    while b"\r\n\r\n" not in data:
        more = s.recv(4096)
        if not more:
            break
        data += more
    return int(data.split(b" ")[1]) if data else None, data.decode(errors="replace")


def test_uploads_are_bounded_streamed_and_collected(channels, pool):  # noqa: F811
    c, front = channels["front"].client(), channels["front"]
    pid, _, header = pool
    jobs = [c.create_user_import_job(JobName=f"bounded {i}", UserPoolId=pid, CloudWatchLogsRoleArn=ROLE)["UserImportJob"]
            for i in range(6)]

    # A declared size over 100 MiB is refused before any of the body is read.
    s = open_upload(jobs[0]["PreSignedUrl"], 100 * 1024 * 1024 + 1)
    status, text = answer_of(s)
    s.close()
    assert status == 413, text

    # A front streams four uploads at once; a fifth is told to slow down, and the four that
    # break off leave nothing: their URLs take a file again.
    held = [open_upload(j["PreSignedUrl"], 10_000_000) for j in jobs[:4]]

    def answered(s):
        """Whether the front has answered a held upload (503 while a probe held a slot)."""
        return bool(select.select([s], [], [], 0)[0])

    deadline = time.time() + 60
    probe = jobs[4]
    while True:
        # A held upload that came in while a probe held a slot was told to slow down: again.
        for k, s in enumerate(held):
            if answered(s):
                status, text = answer_of(s)
                assert status == 503, (status, text)
                s.close()
                held[k] = open_upload(jobs[k]["PreSignedUrl"], 10_000_000)
        status, text = put(probe["PreSignedUrl"], b"x")
        if status == 503 and not any(answered(s) for s in held):
            break
        # The held uploads had not all taken their slots yet, so the probe took its file and
        # its URL is spent: the next probe is a new job's.
        assert status in (200, 503), (status, text)
        assert time.time() < deadline, "four held uploads never filled the front's slots"
        if status == 200:
            probe = c.create_user_import_job(JobName="probe", UserPoolId=pid, CloudWatchLogsRoleArn=ROLE)["UserImportJob"]
        time.sleep(0.2)
    assert "SlowDown" in text
    for s in held:
        s.close()
    for j in jobs[:4]:
        deadline = time.time() + 60
        while True:
            status, text = put(j["PreSignedUrl"], csv_file(header, [user_row("b")]))
            if status == 200:
                break
            assert status in (409, 503) and time.time() < deadline, (status, text)
            time.sleep(0.2)

    # A 40 MiB file streams through a chunk at a time: the front's memory grows by far less
    # than the file (collecting it whole held it twice over: 80 MiB).
    before = rss_kib(front.proc.pid)
    size = 40 * 1024 * 1024
    status, text = put(jobs[5]["PreSignedUrl"], b"y" * size)
    grown = (rss_kib(front.proc.pid) - before) // 1024
    assert status == 200 and f"stored {size} bytes" in text, text
    print(f"40 MiB upload: front RSS grew {grown} MiB")
    assert grown < 30, f"the front grew {grown} MiB for a 40 MiB upload"
