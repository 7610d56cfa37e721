"""Passkeys on a real cluster: a software authenticator from PyPI (soft-webauthn, with
python-fido2's CBOR and COSE) makes and uses the credentials — never Cognate's own code —
and boto3 drives registration, the WEB_AUTHN challenge of USER_AUTH, the list and the
deletion; a tampered signature, another origin, another relying party, a replayed answer
and a missing user verification are refused."""
import base64
import copy
import json

from soft_webauthn import SoftWebauthnDevice
from conftest import refused

RP = "login.cognate.test"
ORIGIN = f"https://{RP}"
PASSWORD = "Passw0rd!x"


def b64url(data):
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def unb64url(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def creation_options(options):
    """Cognito's CredentialCreationOptions (WebAuthn's JSON form) as the authenticator's
    `create` takes them: binary fields decoded."""
    o = copy.deepcopy(options)
    o["challenge"] = unb64url(o["challenge"])
    o["user"]["id"] = unb64url(o["user"]["id"])
    o["pubKeyCredParams"] = [{"type": p["type"], "alg": int(p["alg"])} for p in o["pubKeyCredParams"]]
    return {"publicKey": o}


def registration_json(credential):
    return {"id": b64url(credential["rawId"]), "rawId": b64url(credential["rawId"]), "type": "public-key",
            "response": {"clientDataJSON": b64url(credential["response"]["clientDataJSON"]),
                         "attestationObject": b64url(credential["response"]["attestationObject"]),
                         "transports": ["internal"]},
            "authenticatorAttachment": "platform", "clientExtensionResults": {}}


def request_options(text):
    o = json.loads(text)
    return {"publicKey": {**o, "challenge": unb64url(o["challenge"])}}


def assertion_json(assertion):
    r = assertion["response"]
    return json.dumps({"id": b64url(assertion["rawId"]), "rawId": b64url(assertion["rawId"]), "type": "public-key",
                       "response": {"clientDataJSON": b64url(r["clientDataJSON"]),
                                    "authenticatorData": b64url(r["authenticatorData"]),
                                    "signature": b64url(r["signature"]),
                                    "userHandle": b64url(r["userHandle"])},
                       "clientExtensionResults": {}})


def passkey_pool(idp, verification="preferred", factors=("PASSWORD", "WEB_AUTHN")):
    pool = idp.create_user_pool(
        PoolName="passkeys", Policies={"SignInPolicy": {"AllowedFirstAuthFactors": list(factors)}})["UserPool"]["Id"]
    idp.set_user_pool_mfa_config(UserPoolId=pool, MfaConfiguration="OFF",
                                 WebAuthnConfiguration={"RelyingPartyId": RP, "UserVerification": verification})
    client = idp.create_user_pool_client(
        UserPoolId=pool, ClientName="app", ExplicitAuthFlows=["ALLOW_USER_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
        PreventUserExistenceErrors="ENABLED")["UserPoolClient"]["ClientId"]
    return pool, client


def signed_in(idp, pool, client, name):
    idp.admin_create_user(UserPoolId=pool, Username=name, MessageAction="SUPPRESS", TemporaryPassword="Temp0rary!x")
    idp.admin_set_user_password(UserPoolId=pool, Username=name, Password=PASSWORD, Permanent=True)
    r = idp.initiate_auth(ClientId=client, AuthFlow="USER_AUTH",
                          AuthParameters={"USERNAME": name, "PREFERRED_CHALLENGE": "PASSWORD", "PASSWORD": PASSWORD})
    return r["AuthenticationResult"]["AccessToken"]


def register(idp, access, device, origin=ORIGIN):
    options = idp.start_web_authn_registration(AccessToken=access)["CredentialCreationOptions"]
    credential = device.create(creation_options(options), origin)
    idp.complete_web_authn_registration(AccessToken=access, Credential=registration_json(credential))
    return options


def passkey_challenge(idp, client, name):
    r = idp.initiate_auth(ClientId=client, AuthFlow="USER_AUTH",
                          AuthParameters={"USERNAME": name, "PREFERRED_CHALLENGE": "WEB_AUTHN"})
    assert r["ChallengeName"] == "WEB_AUTHN", r
    return r


def answer(idp, client, r, name, credential):
    return idp.respond_to_auth_challenge(ClientId=client, ChallengeName="WEB_AUTHN", Session=r["Session"],
                                         ChallengeResponses={"USERNAME": name, "CREDENTIAL": credential})


def test_register_and_sign_in_with_a_passkey(idp):
    pool, client = passkey_pool(idp)
    config = idp.get_user_pool_mfa_config(UserPoolId=pool)["WebAuthnConfiguration"]
    assert config["RelyingPartyId"] == RP and config["UserVerification"] == "preferred"
    access = signed_in(idp, pool, client, "ada")
    device = SoftWebauthnDevice()
    options = register(idp, access, device)
    assert options["rp"]["id"] == RP and options["attestation"] == "none"
    assert {int(p["alg"]) for p in options["pubKeyCredParams"]} == {-7, -257}
    listed = idp.list_web_authn_credentials(AccessToken=access)["Credentials"]
    assert len(listed) == 1 and listed[0]["RelyingPartyId"] == RP
    assert listed[0]["CredentialId"] == b64url(device.credential_id)
    assert listed[0]["AuthenticatorTransports"] == ["internal"]
    assert "WEB_AUTHN" in idp.get_user_auth_factors(AccessToken=access)["ConfiguredUserAuthFactors"]
    # A second registration excludes the first credential.
    again = idp.start_web_authn_registration(AccessToken=access)["CredentialCreationOptions"]
    assert [c["id"] for c in again["excludeCredentials"]] == [b64url(device.credential_id)]

    # USER_AUTH now offers the passkey; the challenge names it.
    r = idp.initiate_auth(ClientId=client, AuthFlow="USER_AUTH", AuthParameters={"USERNAME": "ada"})
    assert r["AvailableChallenges"] == ["PASSWORD", "PASSWORD_SRP", "WEB_AUTHN"]
    r = idp.respond_to_auth_challenge(ClientId=client, ChallengeName="SELECT_CHALLENGE", Session=r["Session"],
                                      ChallengeResponses={"USERNAME": "ada", "ANSWER": "WEB_AUTHN"})
    assert r["ChallengeName"] == "WEB_AUTHN"
    request = json.loads(r["ChallengeParameters"]["CREDENTIAL_REQUEST_OPTIONS"])
    assert request["rpId"] == RP and [c["id"] for c in request["allowCredentials"]] == [b64url(device.credential_id)]
    credential = assertion_json(device.get(request_options(r["ChallengeParameters"]["CREDENTIAL_REQUEST_OPTIONS"]),
                                           ORIGIN))
    done = answer(idp, client, r, "ada", credential)
    tokens = done["AuthenticationResult"]
    assert idp.get_user(AccessToken=tokens["AccessToken"])["Username"] == "ada"
    id_claims = json.loads(base64.urlsafe_b64decode(tokens["IdToken"].split(".")[1] + "=="))
    assert id_claims["amr"] == ["hwk"]
    # The same answer again: the challenge is used.
    refused(lambda: answer(idp, client, r, "ada", credential), "NotAuthorizedException")

    # The PREFERRED_CHALLENGE form, twice more: the counter grows each time.
    for _ in range(2):
        r = passkey_challenge(idp, client, "ada")
        opts = request_options(r["ChallengeParameters"]["CREDENTIAL_REQUEST_OPTIONS"])
        assert "AccessToken" in answer(idp, client, r, "ada", assertion_json(device.get(opts, ORIGIN)))[
            "AuthenticationResult"]

    # Deleted, the passkey signs no one in and is no longer offered.
    idp.delete_web_authn_credential(AccessToken=access, CredentialId=b64url(device.credential_id))
    assert idp.list_web_authn_credentials(AccessToken=access)["Credentials"] == []
    r = idp.initiate_auth(ClientId=client, AuthFlow="USER_AUTH", AuthParameters={"USERNAME": "ada"})
    assert "WEB_AUTHN" not in r["AvailableChallenges"]
    refused(lambda: idp.delete_web_authn_credential(AccessToken=access, CredentialId=b64url(device.credential_id)),
            "ResourceNotFoundException")


def test_tampered_and_foreign_assertions_are_refused(idp):
    pool, client = passkey_pool(idp)
    access = signed_in(idp, pool, client, "bo")
    device = SoftWebauthnDevice()
    register(idp, access, device)

    def fresh():
        r = passkey_challenge(idp, client, "bo")
        return r, request_options(r["ChallengeParameters"]["CREDENTIAL_REQUEST_OPTIONS"])

    # A signature with one bit flipped.
    r, opts = fresh()
    assertion = device.get(opts, ORIGIN)
    sig = bytearray(assertion["response"]["signature"])
    sig[-1] ^= 1
    assertion["response"]["signature"] = bytes(sig)
    refused(lambda: answer(idp, client, r, "bo", assertion_json(assertion)), "NotAuthorizedException")
    # Signed on another origin.
    r, opts = fresh()
    refused(lambda: answer(idp, client, r, "bo", assertion_json(device.get(opts, "https://evil.example"))),
            "WebAuthnOriginNotAllowedException")
    # For another relying party (the authenticator signs over that RP's hash).
    r, opts = fresh()
    device.rp_id = "other.example"
    opts["publicKey"]["rpId"] = "other.example"
    bad = device.get(opts, ORIGIN)
    device.rp_id = RP
    refused(lambda: answer(idp, client, r, "bo", assertion_json(bad)), "WebAuthnRelyingPartyMismatchException")
    # An answer for another session's challenge.
    r1, opts1 = fresh()
    r2, _ = fresh()
    refused(lambda: answer(idp, client, r2, "bo", assertion_json(device.get(opts1, ORIGIN))),
            "WebAuthnChallengeNotFoundException")
    # A counter that did not grow (a cloned authenticator): after a sign-in that stored the
    # authenticator's count, one whose count starts over.
    r, opts = fresh()
    assert "AccessToken" in answer(idp, client, r, "bo", assertion_json(device.get(opts, ORIGIN)))["AuthenticationResult"]
    assert device.sign_count > 1
    r, opts = fresh()
    device.sign_count = 0
    refused(lambda: answer(idp, client, r, "bo", assertion_json(device.get(opts, ORIGIN))), "NotAuthorizedException")
    # Garbage in CREDENTIAL.
    r, _ = fresh()
    refused(lambda: answer(idp, client, r, "bo", "{not json"), "InvalidParameterException")


def test_registration_refusals(idp):
    # Passkeys not among the pool's first factors.
    plain = idp.create_user_pool(PoolName="plain")["UserPool"]["Id"]
    client = idp.create_user_pool_client(UserPoolId=plain, ClientName="app",
                                         ExplicitAuthFlows=["ALLOW_USER_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"])
    cid = client["UserPoolClient"]["ClientId"]
    access = signed_in(idp, plain, cid, "cy")
    refused(lambda: idp.start_web_authn_registration(AccessToken=access), "WebAuthnNotEnabledException")
    # No relying party configured.
    bare = idp.create_user_pool(
        PoolName="bare", Policies={"SignInPolicy": {"AllowedFirstAuthFactors": ["PASSWORD", "WEB_AUTHN"]}})["UserPool"]["Id"]
    cid = idp.create_user_pool_client(UserPoolId=bare, ClientName="app",
                                      ExplicitAuthFlows=["ALLOW_USER_AUTH"])["UserPoolClient"]["ClientId"]
    refused(lambda: idp.start_web_authn_registration(AccessToken=signed_in(idp, bare, cid, "cy")),
            "WebAuthnConfigurationMissingException")
    refused(lambda: idp.set_user_pool_mfa_config(UserPoolId=bare, WebAuthnConfiguration={"RelyingPartyId": "https://x"}),
            "InvalidParameterException")

    pool, client = passkey_pool(idp)
    access = signed_in(idp, pool, client, "dee")
    # Made on another origin; and a tampered attestation.
    device = SoftWebauthnDevice()
    options = idp.start_web_authn_registration(AccessToken=access)["CredentialCreationOptions"]
    refused(lambda: idp.complete_web_authn_registration(
        AccessToken=access, Credential=registration_json(device.create(creation_options(options), "https://evil.example"))),
        "WebAuthnOriginNotAllowedException")
    credential = device.create(creation_options(options), ORIGIN)
    credential["response"]["attestationObject"] = credential["response"]["attestationObject"][:-3]
    refused(lambda: idp.complete_web_authn_registration(AccessToken=access, Credential=registration_json(credential)),
            "InvalidParameterException")
    # A challenge not issued by this pool.
    foreign = copy.deepcopy(options)
    foreign["challenge"] = b64url(b"\x01" * 64)
    refused(lambda: idp.complete_web_authn_registration(
        AccessToken=access, Credential=registration_json(device.create(creation_options(foreign), ORIGIN))),
        "WebAuthnChallengeNotFoundException")
    # Registered once; the same credential again is refused.
    credential = device.create(creation_options(options), ORIGIN)
    idp.complete_web_authn_registration(AccessToken=access, Credential=registration_json(credential))
    refused(lambda: idp.complete_web_authn_registration(AccessToken=access, Credential=registration_json(credential)),
            "WebAuthnCredentialNotSupportedException")


def test_user_verification_required(idp):
    """soft-webauthn never sets the UV flag: a pool that requires user verification refuses
    its credentials, at registration and at sign-in."""
    pool, client = passkey_pool(idp, verification="required")
    access = signed_in(idp, pool, client, "eve")
    device = SoftWebauthnDevice()
    options = idp.start_web_authn_registration(AccessToken=access)["CredentialCreationOptions"]
    assert options["authenticatorSelection"]["userVerification"] == "required"
    credential = device.create(creation_options(options), ORIGIN)
    refused(lambda: idp.complete_web_authn_registration(AccessToken=access, Credential=registration_json(credential)),
            "NotAuthorizedException")
    assert idp.list_web_authn_credentials(AccessToken=access)["Credentials"] == []


def test_a_passkey_as_the_second_factor(idp):
    """WebAuthnMfaSettings: after the password, the user's passkey (WEB_AUTHN) instead of a
    code; with TOTP on as well, SELECT_MFA_TYPE offers both. Turning it on needs a passkey."""
    import pyotp
    pool, client = passkey_pool(idp)
    idp.set_user_pool_mfa_config(UserPoolId=pool, MfaConfiguration="OPTIONAL",
                                 SoftwareTokenMfaConfiguration={"Enabled": True},
                                 WebAuthnConfiguration={"RelyingPartyId": RP, "UserVerification": "preferred"})
    access = signed_in(idp, pool, client, "mia")
    refused(lambda: idp.set_user_mfa_preference(AccessToken=access, WebAuthnMfaSettings={"Enabled": True}),
            "InvalidParameterException")
    device = SoftWebauthnDevice()
    register(idp, access, device)
    idp.set_user_mfa_preference(AccessToken=access, WebAuthnMfaSettings={"Enabled": True})
    assert "WEB_AUTHN" in idp.get_user(AccessToken=access)["UserMFASettingList"]

    def password():
        return idp.initiate_auth(ClientId=client, AuthFlow="USER_AUTH", AuthParameters={
            "USERNAME": "mia", "PREFERRED_CHALLENGE": "PASSWORD", "PASSWORD": PASSWORD})

    r = password()
    assert r["ChallengeName"] == "WEB_AUTHN" and "AuthenticationResult" not in r
    options = r["ChallengeParameters"]["CREDENTIAL_REQUEST_OPTIONS"]
    credential = assertion_json(device.get(request_options(options), ORIGIN))
    done = answer(idp, client, r, "mia", credential)["AuthenticationResult"]
    claims = json.loads(base64.urlsafe_b64decode(done["IdToken"].split(".")[1] + "=="))
    assert claims["amr"] == ["pwd", "hwk", "mfa"]
    # A signature with one bit flipped is refused, as the first factor's is.
    r = password()
    assertion = device.get(request_options(r["ChallengeParameters"]["CREDENTIAL_REQUEST_OPTIONS"]), ORIGIN)
    signature = bytearray(assertion["response"]["signature"])
    signature[-1] ^= 1
    assertion["response"]["signature"] = bytes(signature)
    refused(lambda: answer(idp, client, r, "mia", assertion_json(assertion)), "NotAuthorizedException")

    # TOTP on too: a choice, WEB_AUTHN among it.
    totp = pyotp.TOTP(idp.associate_software_token(AccessToken=access)["SecretCode"])
    idp.verify_software_token(AccessToken=access, UserCode=totp.now())
    idp.set_user_mfa_preference(AccessToken=access, SoftwareTokenMfaSettings={"Enabled": True, "PreferredMfa": False})
    r = password()
    assert r["ChallengeName"] == "SELECT_MFA_TYPE"
    assert set(json.loads(r["ChallengeParameters"]["MFAS_CAN_CHOOSE"])) == {"SOFTWARE_TOKEN_MFA", "WEB_AUTHN"}
    chosen = idp.respond_to_auth_challenge(ClientId=client, ChallengeName="SELECT_MFA_TYPE", Session=r["Session"],
                                           ChallengeResponses={"USERNAME": "mia", "ANSWER": "WEB_AUTHN"})
    assert chosen["ChallengeName"] == "WEB_AUTHN"
    credential = assertion_json(device.get(
        request_options(chosen["ChallengeParameters"]["CREDENTIAL_REQUEST_OPTIONS"]), ORIGIN))
    assert answer(idp, client, chosen, "mia", credential)["AuthenticationResult"]["AccessToken"]
    # Off again: the authenticator alone.
    idp.set_user_mfa_preference(AccessToken=access, WebAuthnMfaSettings={"Enabled": False})
    assert password()["ChallengeName"] == "SOFTWARE_TOKEN_MFA"
