"""Multi-factor sign-in with real clients: boto3 configures the pool and answers the
SOFTWARE_TOKEN_MFA challenge, pyotp computes the codes an authenticator app would, and
pycognito signs in with SRP and then the code."""
import time

import boto3
import pyotp
import pytest
from botocore.exceptions import ClientError
from pycognito import Cognito
from pycognito.exceptions import SoftwareTokenMFAChallengeException

from conftest import Front, NodeCluster
from test_front_signin import make_user, verify

PASSWORD = "Passw0rd!"


@pytest.fixture(scope="module")
def idp(front):
    return front.client()


@pytest.fixture(scope="module")
def pool(idp):
    pid = idp.create_user_pool(PoolName="mfa")["UserPool"]["Id"]
    cid = idp.create_user_pool_client(
        UserPoolId=pid, ClientName="app",
        ExplicitAuthFlows=["ALLOW_USER_SRP_AUTH", "ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
    )["UserPoolClient"]["ClientId"]
    return pid, cid


def error_code(call):
    with pytest.raises(ClientError) as e:
        call()
    return e.value.response["Error"]["Code"], e.value.response["Error"]["Message"]


def password_sign_in(idp, cid, name):
    return idp.initiate_auth(ClientId=cid, AuthFlow="USER_PASSWORD_AUTH",
                             AuthParameters={"USERNAME": name, "PASSWORD": PASSWORD})


def later_code(totp):
    """The code of the next time step: the current one went to VerifySoftwareToken, and a
    step is accepted once."""
    return totp.at(time.time() + 30)


def set_up_totp(idp, cid, name):
    """Associates and verifies an authenticator for `name` (signed in without MFA)."""
    access = password_sign_in(idp, cid, name)["AuthenticationResult"]["AccessToken"]
    secret = idp.associate_software_token(AccessToken=access)["SecretCode"]
    totp = pyotp.TOTP(secret)
    wrong = f"{(int(totp.now()) + 1) % 1_000_000:06d}"
    assert error_code(lambda: idp.verify_software_token(AccessToken=access, UserCode=wrong)) == \
        ("EnableSoftwareTokenMFAException", "Code mismatch")
    assert idp.verify_software_token(AccessToken=access, UserCode=totp.now(), FriendlyDeviceName="phone")["Status"] == "SUCCESS"
    idp.set_user_mfa_preference(AccessToken=access, SoftwareTokenMfaSettings={"Enabled": True, "PreferredMfa": True})
    return totp


def test_pool_mfa_configuration(idp, pool):
    pid, _ = pool
    before = idp.get_user_pool_mfa_config(UserPoolId=pid)
    assert before["MfaConfiguration"] == "OFF" and before["SoftwareTokenMfaConfiguration"] == {"Enabled": False}
    code, _ = error_code(lambda: idp.set_user_pool_mfa_config(UserPoolId=pid, MfaConfiguration="ON"))
    assert code == "InvalidParameterException"
    code, message = error_code(lambda: idp.set_user_pool_mfa_config(
        UserPoolId=pid, MfaConfiguration="OPTIONAL", SmsMfaConfiguration={"SmsAuthenticationMessage": "{####}"}))
    assert code == "InvalidParameterException" and "SmsConfiguration" in message
    code, message = error_code(lambda: idp.set_user_pool_mfa_config(
        UserPoolId=pid, MfaConfiguration="OPTIONAL", WebAuthnConfiguration={"RelyingPartyId": "example.com"}))
    assert code == "InvalidParameterException" and "at least one MFA method" in message
    after = idp.set_user_pool_mfa_config(UserPoolId=pid, MfaConfiguration="OPTIONAL",
                                         SoftwareTokenMfaConfiguration={"Enabled": True})
    assert after["MfaConfiguration"] == "OPTIONAL" and after["SoftwareTokenMfaConfiguration"] == {"Enabled": True}
    assert idp.describe_user_pool(UserPoolId=pid)["UserPool"]["MfaConfiguration"] == "OPTIONAL"


def test_mfa_at_creation_is_sms_mfa(idp):
    """CreateUserPool with MfaConfiguration (as CloudFormation and the CDK send it): SMS MFA,
    which needs the SMS configuration; TOTP joins through SetUserPoolMfaConfig."""
    code, _ = error_code(lambda: idp.create_user_pool(PoolName="mfa-at-create", MfaConfiguration="ON"))
    assert code == "InvalidParameterException"
    sms = {"SnsCallerArn": "arn:aws:iam::123456789012:role/sns", "ExternalId": "x"}
    pid = idp.create_user_pool(PoolName="mfa-at-create", MfaConfiguration="ON", SmsConfiguration=sms,
                               SmsAuthenticationMessage="Code {####}")["UserPool"]["Id"]
    config = idp.get_user_pool_mfa_config(UserPoolId=pid)
    assert config["MfaConfiguration"] == "ON"
    assert config["SmsMfaConfiguration"] == {"SmsAuthenticationMessage": "Code {####}", "SmsConfiguration": sms}
    both = idp.set_user_pool_mfa_config(UserPoolId=pid, MfaConfiguration="ON", SmsMfaConfiguration=config["SmsMfaConfiguration"],
                                        SoftwareTokenMfaConfiguration={"Enabled": True})
    assert both["SoftwareTokenMfaConfiguration"] == {"Enabled": True} and "SmsMfaConfiguration" in both
    # UpdateUserPool without MfaConfiguration turns MFA off, as Cognito's defaults do.
    idp.update_user_pool(UserPoolId=pid)
    assert idp.get_user_pool_mfa_config(UserPoolId=pid)["MfaConfiguration"] == "OFF"


def test_totp_set_up_and_sign_in(front, idp, pool):
    pid, cid = pool
    idp.set_user_pool_mfa_config(UserPoolId=pid, MfaConfiguration="OPTIONAL", SoftwareTokenMfaConfiguration={"Enabled": True})
    make_user(idp, pid, "tess", PASSWORD)
    # Turning TOTP on before an authenticator is verified is refused.
    access = password_sign_in(idp, cid, "tess")["AuthenticationResult"]["AccessToken"]
    assert error_code(lambda: idp.set_user_mfa_preference(AccessToken=access, SoftwareTokenMfaSettings={"Enabled": True})) == \
        ("InvalidParameterException", "User has not verified software token mfa")
    totp = set_up_totp(idp, cid, "tess")
    got = idp.admin_get_user(UserPoolId=pid, Username="tess")
    assert got["UserMFASettingList"] == ["SOFTWARE_TOKEN_MFA"] and got["PreferredMfaSetting"] == "SOFTWARE_TOKEN_MFA"
    mine = idp.get_user(AccessToken=access)
    assert mine["UserMFASettingList"] == ["SOFTWARE_TOKEN_MFA"]
    factors = idp.get_user_auth_factors(AccessToken=access)
    assert factors["Username"] == "tess" and factors["ConfiguredUserAuthFactors"] == ["PASSWORD"]
    assert factors["UserMFASettingList"] == ["SOFTWARE_TOKEN_MFA"] and factors["PreferredMfaSetting"] == "SOFTWARE_TOKEN_MFA"
    assert idp.admin_get_user_auth_factors(UserPoolId=pid, Username="tess")["UserMFASettingList"] == ["SOFTWARE_TOKEN_MFA"]

    # The password alone now gets the challenge, not tokens.
    first = password_sign_in(idp, cid, "tess")
    assert first["ChallengeName"] == "SOFTWARE_TOKEN_MFA" and "AuthenticationResult" not in first
    session = first["Session"]
    # A wrong code is refused; the session stays good for the right one.
    wrong = f"{(int(later_code(totp)) + 7) % 1_000_000:06d}"
    assert error_code(lambda: idp.respond_to_auth_challenge(
        ClientId=cid, ChallengeName="SOFTWARE_TOKEN_MFA", Session=session,
        ChallengeResponses={"USERNAME": "tess", "SOFTWARE_TOKEN_MFA_CODE": wrong})) == \
        ("CodeMismatchException", "Invalid code received for user")
    # Another user's name with this session is refused.
    assert error_code(lambda: idp.respond_to_auth_challenge(
        ClientId=cid, ChallengeName="SOFTWARE_TOKEN_MFA", Session=session,
        ChallengeResponses={"USERNAME": "mallory", "SOFTWARE_TOKEN_MFA_CODE": later_code(totp)}))[0] == "NotAuthorizedException"
    code = later_code(totp)
    done = idp.respond_to_auth_challenge(ClientId=cid, ChallengeName="SOFTWARE_TOKEN_MFA", Session=session,
                                         ChallengeResponses={"USERNAME": "tess", "SOFTWARE_TOKEN_MFA_CODE": code})
    claims = verify(front, pid, done["AuthenticationResult"]["IdToken"], audience=cid)
    assert claims["cognito:username"] == "tess"
    # The methods the sign-in took (RFC 8176), as Cognito's ID tokens name them.
    assert claims["amr"] == ["pwd", "otp", "mfa"]
    # The same code again, in a new sign-in: used, refused.
    again = password_sign_in(idp, cid, "tess")["Session"]
    assert error_code(lambda: idp.respond_to_auth_challenge(
        ClientId=cid, ChallengeName="SOFTWARE_TOKEN_MFA", Session=again,
        ChallengeResponses={"USERNAME": "tess", "SOFTWARE_TOKEN_MFA_CODE": code}))[0] == "CodeMismatchException"
    # A session for this challenge does not answer another one.
    assert error_code(lambda: idp.respond_to_auth_challenge(
        ClientId=cid, ChallengeName="NEW_PASSWORD_REQUIRED", Session=again,
        ChallengeResponses={"USERNAME": "tess", "NEW_PASSWORD": "An0ther!pass"}))[0] == "NotAuthorizedException"

    # Without the authenticator (AdminDeleteSoftwareToken) the password is enough again.
    idp.admin_delete_software_token(UserPoolId=pid, Username="tess")
    assert "UserMFASettingList" not in idp.admin_get_user(UserPoolId=pid, Username="tess")
    assert "AuthenticationResult" in password_sign_in(idp, cid, "tess")


def test_srp_then_totp_with_pycognito(front, idp, pool):
    pid, cid = pool
    idp.set_user_pool_mfa_config(UserPoolId=pid, MfaConfiguration="OPTIONAL", SoftwareTokenMfaConfiguration={"Enabled": True})
    make_user(idp, pid, "sam", PASSWORD)
    totp = set_up_totp(idp, cid, "sam")
    user = Cognito(pid, cid, username="sam", boto3_client_kwargs={
        "endpoint_url": front.endpoint, "region_name": "us-east-1",
        "aws_access_key_id": "cognate", "aws_secret_access_key": "cognate-local-secret"})
    with pytest.raises(SoftwareTokenMFAChallengeException):
        user.authenticate(password=PASSWORD)
    # pycognito verifies the tokens against the pool's JWKS on our front.
    user.respond_to_software_token_mfa_challenge(later_code(totp))
    assert user.access_token and user.id_claims["cognito:username"] == "sam"
    # A wrong password never reaches the second factor.
    wrong = Cognito(pid, cid, username="sam", boto3_client_kwargs={
        "endpoint_url": front.endpoint, "region_name": "us-east-1",
        "aws_access_key_id": "cognate", "aws_secret_access_key": "cognate-local-secret"})
    with pytest.raises(ClientError) as e:
        wrong.authenticate(password="Wr0ng!pass")
    assert e.value.response["Error"]["Code"] == "NotAuthorizedException"


def test_mfa_on_sets_up_an_authenticator_during_sign_in(front, idp, pool):
    pid, cid = pool
    make_user(idp, pid, "newbie", PASSWORD)
    idp.set_user_pool_mfa_config(UserPoolId=pid, MfaConfiguration="ON", SoftwareTokenMfaConfiguration={"Enabled": True})
    try:
        first = password_sign_in(idp, cid, "newbie")
        assert first["ChallengeName"] == "MFA_SETUP" and "AuthenticationResult" not in first
        assert first["ChallengeParameters"]["MFAS_CAN_SETUP"] == '["SOFTWARE_TOKEN_MFA"]'
        associated = idp.associate_software_token(Session=first["Session"])
        totp = pyotp.TOTP(associated["SecretCode"])
        # The set-up session does not finish the sign-in before a code is verified.
        assert error_code(lambda: idp.respond_to_auth_challenge(
            ClientId=cid, ChallengeName="MFA_SETUP", Session=associated["Session"],
            ChallengeResponses={"USERNAME": "newbie"}))[0] == "NotAuthorizedException"
        wrong = f"{(int(totp.now()) + 3) % 1_000_000:06d}"
        assert error_code(lambda: idp.verify_software_token(Session=associated["Session"], UserCode=wrong))[0] == \
            "EnableSoftwareTokenMFAException"
        verified = idp.verify_software_token(Session=associated["Session"], UserCode=totp.now())
        assert verified["Status"] == "SUCCESS"
        # A verified session cannot set up yet another authenticator.
        assert error_code(lambda: idp.associate_software_token(Session=verified["Session"]))[0] == "NotAuthorizedException"
        done = idp.respond_to_auth_challenge(ClientId=cid, ChallengeName="MFA_SETUP", Session=verified["Session"],
                                             ChallengeResponses={"USERNAME": "newbie"})
        assert verify(front, pid, done["AuthenticationResult"]["IdToken"], audience=cid)["cognito:username"] == "newbie"
        assert idp.admin_get_user(UserPoolId=pid, Username="newbie")["UserMFASettingList"] == ["SOFTWARE_TOKEN_MFA"]
        # From now on the password is followed by the code.
        again = password_sign_in(idp, cid, "newbie")
        assert again["ChallengeName"] == "SOFTWARE_TOKEN_MFA"
        finished = idp.respond_to_auth_challenge(
            ClientId=cid, ChallengeName="SOFTWARE_TOKEN_MFA", Session=again["Session"],
            ChallengeResponses={"USERNAME": "newbie", "SOFTWARE_TOKEN_MFA_CODE": later_code(totp)})
        assert "AccessToken" in finished["AuthenticationResult"]
    finally:
        idp.set_user_pool_mfa_config(UserPoolId=pid, MfaConfiguration="OPTIONAL",
                                     SoftwareTokenMfaConfiguration={"Enabled": True})


def test_a_shard_leader_killed_during_an_mfa_session(tmp_path):
    """The session between the password and the code is sealed state, not a node's memory:
    the user's shard leader killed in between, the sign-in still completes on the new one."""
    cluster = NodeCluster(str(tmp_path), shards=2, kv_harness=False)  # shard 1 holds every user
    cluster.start_all()
    front = Front(cluster)
    try:
        cluster.wait_for_leaders()
        idp = front.client()
        pid = idp.create_user_pool(PoolName="failover")["UserPool"]["Id"]
        cid = idp.create_user_pool_client(UserPoolId=pid, ClientName="app",
                                          ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
                                          )["UserPoolClient"]["ClientId"]
        idp.set_user_pool_mfa_config(UserPoolId=pid, MfaConfiguration="OPTIONAL",
                                     SoftwareTokenMfaConfiguration={"Enabled": True})
        make_user(idp, pid, "fay", PASSWORD)
        totp = set_up_totp(idp, cid, "fay")
        first = password_sign_in(idp, cid, "fay")
        assert first["ChallengeName"] == "SOFTWARE_TOKEN_MFA"
        victim = cluster.leader_of(1)
        assert victim is not None
        cluster.kill(victim)
        cluster.wait_for_leaders()
        assert cluster.leader_of(1) not in (None, victim)
        code = later_code(totp)
        done = idp.respond_to_auth_challenge(
            ClientId=cid, ChallengeName="SOFTWARE_TOKEN_MFA", Session=first["Session"],
            ChallengeResponses={"USERNAME": "fay", "SOFTWARE_TOKEN_MFA_CODE": code})
        assert verify(front, pid, done["AuthenticationResult"]["IdToken"], audience=cid)["cognito:username"] == "fay"
        # The used step was written on the new leader: the same code does not work twice.
        again = password_sign_in(idp, cid, "fay")
        assert error_code(lambda: idp.respond_to_auth_challenge(
            ClientId=cid, ChallengeName="SOFTWARE_TOKEN_MFA", Session=again["Session"],
            ChallengeResponses={"USERNAME": "fay", "SOFTWARE_TOKEN_MFA_CODE": code}))[0] == "CodeMismatchException"
    finally:
        front.stop()
        cluster.stop_all()
