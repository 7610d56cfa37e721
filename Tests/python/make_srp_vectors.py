"""Writes Tests/AuthCryptoTests/Vectors/srp_vectors.json: known-answer cases for Cognito's
SRP computed by pycognito's own client code (pycognito.aws_srp), so the Swift server is
checked against what real clients send.

Deterministic: a seeded RNG picks salts, a, b and secret blocks, and the clock that
pycognito reads for TIMESTAMP is pinned per case. Re-run after upgrading pycognito:
    python Tests/python/make_srp_vectors.py
"""
import base64
import datetime
import json
import os
import random
import sys

import importlib.metadata

import pycognito
from pycognito import aws_srp
from pycognito.aws_srp import (
    AWSSRP, N_HEX, G_HEX, calculate_u, hash_sha256, hex_hash, hex_to_long, long_to_hex, pad_hex,
)

OUT = os.path.join(os.path.dirname(__file__), "..", "AuthCryptoTests", "Vectors", "srp_vectors.json")

CASES = [
    # (pool id, user id for SRP, password, salt shape)
    ("us-east-1_AbCdEf123", "alice", "Passw0rd!", "high-bit"),
    ("eu-west-1_Zy9Xw8Vu7", "bob@example.com", "correct horse battery staple", "odd-length"),
    ("us-east-1_AbCdEf123", "5f1c0a2e-6d3b-4b8e-9c1a-0b2c3d4e5f60", "Ünïcødé-pässwörd-✓", "random"),
    ("ap-southeast-2_q1W2e3R4t", "+15555550123", "p", "random"),
    ("us-west-2_LongPool", "carol", "x" * 256, "leading-zero-byte"),
    ("us-east-1_AbCdEf123", "dave", "Day0ne!", "random"),
    ("us-east-1_AbCdEf123", "erin", "Sp ace s", "random"),
    ("us-east-1_AbCdEf123", "frank", "12345678", "random"),
]


def salt_for(rng, shape):
    raw = bytearray(rng.getrandbits(8) for _ in range(16))
    if shape == "high-bit":
        raw[0] |= 0x80            # padHex adds "00"
    elif shape == "odd-length":
        raw[0] = 0x0A             # hex of the number has an odd digit count
    elif shape == "leading-zero-byte":
        raw[0] = 0x00             # the number is shorter than 16 bytes
        raw[1] = 0x9C
    else:
        raw[0] = (raw[0] & 0x7F) | 0x10
    return bytes(raw)


class PinnedClock(datetime.datetime):
    pinned = None

    @classmethod
    def utcnow(cls):
        return cls.pinned


def main():
    rng = random.Random(20261127)
    big_n = hex_to_long(N_HEX)
    g = hex_to_long(G_HEX)
    k = hex_to_long(hex_hash("00" + N_HEX + "0" + G_HEX))
    aws_srp.datetime.datetime = PinnedClock
    cases = []
    for i, (pool_id, user, password, shape) in enumerate(CASES):
        salt = salt_for(rng, shape)
        salt_hex = long_to_hex(int.from_bytes(salt, "big"))
        pool_name = pool_id.split("_")[1]
        x = hex_to_long(hex_hash(pad_hex(salt_hex) + hash_sha256(f"{pool_name}{user}:{password}".encode("utf-8"))))
        v = pow(g, x, big_n)
        b = rng.getrandbits(256)
        big_b = (k * v + pow(g, b, big_n)) % big_n

        client = AWSSRP(username=user, password=password, pool_id=pool_id, client_id="client", client=object())
        client.small_a_value = rng.getrandbits(1024) % big_n
        client.large_a_value = client.calculate_a()
        a = client.small_a_value
        big_a = client.large_a_value
        u = calculate_u(big_a, big_b)
        s = pow((big_b - k * pow(g, x, big_n)) % big_n, a + u * x, big_n)
        hkdf = client.get_password_authentication_key(user, password, big_b, salt_hex)

        secret_block = bytes(rng.getrandbits(8) for _ in range(rng.choice([64, 200, 777])))
        # Days 1..9 exercise the unpadded day; one case sits on a leap day.
        when = datetime.datetime(2026, 1 + i % 12, 1 + i, 3 + i, 7 * i % 60, 59 - i)
        if i == 6:
            when = datetime.datetime(2028, 2, 29, 23, 59, 58)
        PinnedClock.pinned = when
        challenge = {
            "USER_ID_FOR_SRP": user,
            "SALT": salt_hex,
            "SRP_B": long_to_hex(big_b),
            "SECRET_BLOCK": base64.standard_b64encode(secret_block).decode(),
        }
        response = client.process_challenge(challenge, {"USERNAME": user})
        cases.append({
            "poolId": pool_id,
            "userIdForSrp": user,
            "password": password,
            "salt": salt_hex,
            "x": long_to_hex(x),
            "verifier": long_to_hex(v),
            "a": long_to_hex(a),
            "b": f"{b:064x}",
            "A": long_to_hex(big_a),
            "B": long_to_hex(big_b),
            "u": long_to_hex(u),
            "S": long_to_hex(s),
            "hkdfKey": hkdf.hex(),
            "secretBlock": challenge["SECRET_BLOCK"],
            "timestamp": response["TIMESTAMP"],
            "timestampEpoch": int(when.replace(tzinfo=datetime.timezone.utc).timestamp()),
            "signature": response["PASSWORD_CLAIM_SIGNATURE"],
        })
    secret_hashes = []
    for username, client_id, secret in [
        ("alice", "1example23456789", "shhh-this-is-a-secret"),
        ("bob@example.com", "7abcdefghijklmnopqrstuvwx", "a" * 52),
        ("ünï", "c", "s"),
    ]:
        secret_hashes.append({
            "username": username, "clientId": client_id, "clientSecret": secret,
            "secretHash": AWSSRP.get_secret_hash(username, client_id, secret),
        })
    doc = {
        "generator": f"pycognito {importlib.metadata.version('pycognito')} via Tests/python/make_srp_vectors.py",
        "k": long_to_hex(k),
        "cases": cases,
        "secretHashes": secret_hashes,
    }
    with open(OUT, "w") as f:
        json.dump(doc, f, indent=1, ensure_ascii=False)
        f.write("\n")
    print(f"wrote {len(cases)} SRP cases and {len(secret_hashes)} SECRET_HASH cases to {os.path.normpath(OUT)}")


if __name__ == "__main__":
    sys.exit(main())
