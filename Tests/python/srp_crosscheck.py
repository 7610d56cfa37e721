"""Live cross-check: pycognito's AWSSRP client math against this build's SRP server.

Starts `cognate debug srp-server` (JSON lines on stdin/stdout), and for N random users
(default 50) registers a verifier, then signs in with pycognito's client: the right password
must complete, a wrong one must be refused. Exits non-zero on any disagreement.

    python Tests/python/srp_crosscheck.py --cognate .build/debug/cognate [--users 50]
"""
import argparse
import json
import random
import string
import subprocess
import sys

from pycognito.aws_srp import AWSSRP


class Server:
    def __init__(self, binary):
        self.proc = subprocess.Popen(
            [binary, "debug", "srp-server"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)

    def call(self, **request):
        self.proc.stdin.write(json.dumps(request) + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError("srp-server exited")
        return json.loads(line)

    def close(self):
        self.proc.stdin.close()
        self.proc.wait(timeout=10)


def sign_in(server, pool_id, username, stored, password):
    """One USER_SRP_AUTH exchange with pycognito doing the client side; True if accepted."""
    client = AWSSRP(username=username, password=password, pool_id=pool_id, client_id="crosscheck", client=object())
    auth = client.get_auth_params()
    challenge = server.call(op="start", **stored)
    if "error" in challenge:
        raise RuntimeError(challenge["error"])
    params = {
        "USER_ID_FOR_SRP": username,
        "SALT": challenge["SALT"],
        "SRP_B": challenge["SRP_B"],
        "SECRET_BLOCK": challenge["SECRET_BLOCK"],
    }
    response = client.process_challenge(params, auth)
    result = server.call(
        op="finish", poolId=pool_id, username=username, SRP_A=auth["SRP_A"], **stored,
        SECRET_BLOCK=response["PASSWORD_CLAIM_SECRET_BLOCK"], TIMESTAMP=response["TIMESTAMP"],
        PASSWORD_CLAIM_SIGNATURE=response["PASSWORD_CLAIM_SIGNATURE"])
    return result.get("ok") is True, result.get("error")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--cognate", default=".build/debug/cognate")
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--seed", type=int, default=1127)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    alphabet = string.ascii_letters + string.digits + "!@#$%^&*()-_=+ üé✓"
    server = Server(args.cognate)
    passed = failed = 0
    try:
        for i in range(args.users):
            region = rng.choice(["us-east-1", "eu-west-1", "ap-south-1"])
            pool_id = f"{region}_{''.join(rng.choices(string.ascii_letters + string.digits, k=9))}"
            username = rng.choice([
                f"user{i}", f"user{i}@example.com", f"+1555{rng.randrange(10**7):07d}",
                "".join(rng.choices(string.ascii_lowercase, k=rng.randint(1, 30))),
            ])
            password = "".join(rng.choices(alphabet, k=rng.randint(6, 40)))
            wrong = password[:-1] + ("x" if password[-1] != "x" else "y")
            stored = server.call(op="verifier", poolId=pool_id, username=username, password=password)
            ok_right, err_right = sign_in(server, pool_id, username, stored, password)
            ok_wrong, err_wrong = sign_in(server, pool_id, username, stored, wrong)
            if ok_right and not ok_wrong:
                passed += 1
            else:
                failed += 1
                print(f"FAIL {pool_id} {username!r}: right password ok={ok_right} ({err_right}); "
                      f"wrong password ok={ok_wrong} ({err_wrong})")
    finally:
        server.close()
    print(f"srp cross-check: {passed} users signed in with the right password and were refused with a wrong one")
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
