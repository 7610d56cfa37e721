"""Choice-based sign-in (USER_AUTH) on a real cluster, driven by boto3: SELECT_CHALLENGE and
PREFERRED_CHALLENGE with each first factor — a password, SRP (pycognito's client side),
a code by email through a real SMTP server, a code by SMS through an HTTP gateway — a
session's limit on wrong codes, a name no user has, and signing in straight after
ConfirmSignUp with its Session."""
from pycognito.aws_srp import AWSSRP

from test_messages import channels, code_in, text_of  # noqa: F401 (channels is a fixture)
from conftest import refused

SMS_CONFIGURATION = {"SnsCallerArn": "arn:aws:iam::123456789012:role/sns", "ExternalId": "x"}


def choice_pool(c, factors=("PASSWORD", "EMAIL_OTP", "SMS_OTP"), **kw):
    pool = c.create_user_pool(
        PoolName="choice", AutoVerifiedAttributes=["email"], SmsConfiguration=SMS_CONFIGURATION,
        Policies={"SignInPolicy": {"AllowedFirstAuthFactors": list(factors)}}, **kw)["UserPool"]["Id"]
    client = c.create_user_pool_client(
        UserPoolId=pool, ClientName="app", ExplicitAuthFlows=["ALLOW_USER_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
        PreventUserExistenceErrors="ENABLED")["UserPoolClient"]["ClientId"]
    return pool, client


def person(c, pool, name, phone):
    c.admin_create_user(UserPoolId=pool, Username=name, MessageAction="SUPPRESS", TemporaryPassword="Temp0rary!x",
                        UserAttributes=[{"Name": "email", "Value": f"{name}@example.com"},
                                        {"Name": "email_verified", "Value": "true"},
                                        {"Name": "phone_number", "Value": phone},
                                        {"Name": "phone_number_verified", "Value": "true"}])
    c.admin_set_user_password(UserPoolId=pool, Username=name, Password="Passw0rd!x", Permanent=True)


def user_auth(c, client, name, **parameters):
    return c.initiate_auth(ClientId=client, AuthFlow="USER_AUTH", AuthParameters={"USERNAME": name, **parameters})


def answer(c, client, r, name, challenge=None, **responses):
    return c.respond_to_auth_challenge(ClientId=client, ChallengeName=challenge or r["ChallengeName"],
                                       Session=r["Session"], ChallengeResponses={"USERNAME": name, **responses})


def test_select_challenge_offers_each_factor_and_the_password_ones_sign_in(channels):
    c = channels["front"].client()
    pool, client = choice_pool(c)
    described = c.describe_user_pool(UserPoolId=pool)["UserPool"]["Policies"]["SignInPolicy"]
    assert described == {"AllowedFirstAuthFactors": ["PASSWORD", "EMAIL_OTP", "SMS_OTP"]}
    person(c, pool, "uma", "+15550181")
    factors = c.admin_get_user_auth_factors(UserPoolId=pool, Username="uma")["ConfiguredUserAuthFactors"]
    assert factors == ["PASSWORD", "EMAIL_OTP", "SMS_OTP"]

    r = user_auth(c, client, "uma")
    assert r["ChallengeName"] == "SELECT_CHALLENGE" and "AuthenticationResult" not in r
    assert r["AvailableChallenges"] == ["PASSWORD", "PASSWORD_SRP", "EMAIL_OTP", "SMS_OTP"]
    refused(lambda: answer(c, client, r, "uma", ANSWER="PASSWORD", PASSWORD="Wr0ng!pass"), "NotAuthorizedException")
    done = answer(c, client, r, "uma", ANSWER="PASSWORD", PASSWORD="Passw0rd!x")
    assert "AccessToken" in done["AuthenticationResult"]

    # PREFERRED_CHALLENGE PASSWORD signs in at once; PASSWORD_SRP with pycognito's A and proof.
    assert "IdToken" in user_auth(c, client, "uma", PREFERRED_CHALLENGE="PASSWORD", PASSWORD="Passw0rd!x")[
        "AuthenticationResult"]
    srp = AWSSRP("uma", "Passw0rd!x", pool, client, client=c)
    params = srp.get_auth_params()
    r = user_auth(c, client, "uma", PREFERRED_CHALLENGE="PASSWORD_SRP", SRP_A=params["SRP_A"])
    assert r["ChallengeName"] == "PASSWORD_VERIFIER"
    proof = srp.process_challenge(r["ChallengeParameters"], params)
    done = c.respond_to_auth_challenge(ClientId=client, ChallengeName="PASSWORD_VERIFIER", ChallengeResponses=proof)
    assert "AccessToken" in done["AuthenticationResult"]
    # The same through SELECT_CHALLENGE, and a wrong password's proof refused.
    wrong = AWSSRP("uma", "Wr0ng!pass", pool, client, client=c)
    wrong_params = wrong.get_auth_params()
    r = user_auth(c, client, "uma")
    r = answer(c, client, r, "uma", ANSWER="PASSWORD_SRP", SRP_A=wrong_params["SRP_A"])
    proof = wrong.process_challenge(r["ChallengeParameters"], wrong_params)
    refused(lambda: c.respond_to_auth_challenge(ClientId=client, ChallengeName="PASSWORD_VERIFIER",
                                                ChallengeResponses=proof), "NotAuthorizedException")

    # An answer that was not offered, and a client without ALLOW_USER_AUTH.
    r = user_auth(c, client, "uma")
    refused(lambda: answer(c, client, r, "uma", ANSWER="WEB_AUTHN"), "InvalidParameterException")
    other = c.create_user_pool_client(UserPoolId=pool, ClientName="old", ExplicitAuthFlows=["ALLOW_USER_SRP_AUTH"])
    message = refused(lambda: user_auth(c, other["UserPoolClient"]["ClientId"], "uma"), "InvalidParameterException")
    assert "USER_AUTH" in message


def test_email_and_sms_codes_as_the_first_factor(channels):
    c = channels["front"].client()
    mail, sms = channels["mail"], channels["sms"]
    pool, client = choice_pool(c)
    person(c, pool, "vic", "+15550182")

    since = len(mail.messages)
    r = user_auth(c, client, "vic", PREFERRED_CHALLENGE="EMAIL_OTP")
    assert r["ChallengeName"] == "EMAIL_OTP"
    assert r["ChallengeParameters"]["CODE_DELIVERY_DELIVERY_MEDIUM"] == "EMAIL"
    assert r["ChallengeParameters"]["CODE_DELIVERY_DESTINATION"] != "vic@example.com"
    (m,) = mail.wait_for("vic@example.com", since=since)
    code = code_in(text_of(m))
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    # Three wrong codes end the session: the right one no longer works in it.
    for _ in range(3):
        refused(lambda: answer(c, client, r, "vic", EMAIL_OTP_CODE=wrong), "CodeMismatchException")
    refused(lambda: answer(c, client, r, "vic", EMAIL_OTP_CODE=code), "NotAuthorizedException")

    since = len(mail.messages)
    r = user_auth(c, client, "vic", PREFERRED_CHALLENGE="EMAIL_OTP")
    (m,) = mail.wait_for("vic@example.com", since=since)
    code = code_in(text_of(m))
    done = answer(c, client, r, "vic", EMAIL_OTP_CODE=code)
    assert "AccessToken" in done["AuthenticationResult"]
    # Used: the session is over.
    refused(lambda: answer(c, client, r, "vic", EMAIL_OTP_CODE=code), "NotAuthorizedException")

    # SMS_OTP, chosen after SELECT_CHALLENGE; the code comes through the SMS gateway.
    r = user_auth(c, client, "vic")
    r = answer(c, client, r, "vic", ANSWER="SMS_OTP")
    assert r["ChallengeName"] == "SMS_OTP"
    assert r["ChallengeParameters"]["CODE_DELIVERY_DESTINATION"].endswith("0182")
    (body,) = sms.wait_for("+15550182")
    done = answer(c, client, r, "vic", SMS_OTP_CODE=code_in(body["message"]))
    assert "AccessToken" in done["AuthenticationResult"]
    # The refresh token of a passwordless sign-in works as any other.
    refreshed = c.initiate_auth(ClientId=client, AuthFlow="REFRESH_TOKEN_AUTH",
                                AuthParameters={"REFRESH_TOKEN": done["AuthenticationResult"]["RefreshToken"]})
    assert "AccessToken" in refreshed["AuthenticationResult"]


def test_a_name_no_user_has_looks_like_a_user(channels):
    c = channels["front"].client()
    mail = channels["mail"]
    pool, client = choice_pool(c)
    person(c, pool, "wes", "+15550183")
    real = user_auth(c, client, "wes")
    fake = user_auth(c, client, "nobody-here")
    assert fake["ChallengeName"] == real["ChallengeName"] == "SELECT_CHALLENGE"
    assert fake["AvailableChallenges"] == real["AvailableChallenges"]
    since = len(mail.messages)
    r = user_auth(c, client, "nobody@example.com", PREFERRED_CHALLENGE="EMAIL_OTP")
    assert r["ChallengeName"] == "EMAIL_OTP"
    assert r["ChallengeParameters"]["CODE_DELIVERY_DESTINATION"].startswith("n***@")
    refused(lambda: answer(c, client, r, "nobody@example.com", EMAIL_OTP_CODE="123456"), "CodeMismatchException")
    assert not [m for m in mail.messages[since:] if "nobody@example.com" in m["to"]]
    refused(lambda: user_auth(c, client, "nobody-here", PREFERRED_CHALLENGE="PASSWORD", PASSWORD="Passw0rd!x"),
            "NotAuthorizedException")


def test_sign_up_then_sign_in_with_the_confirmation_session(channels):
    c = channels["front"].client()
    mail = channels["mail"]
    pool, client = choice_pool(c)
    since = len(mail.messages)
    up = c.sign_up(ClientId=client, Username="xena", Password="Passw0rd!x",
                   UserAttributes=[{"Name": "email", "Value": "xena@example.com"}])
    assert up["Session"]
    (m,) = mail.wait_for("xena@example.com", since=since)
    code = code_in(text_of(m))
    refused(lambda: c.confirm_sign_up(ClientId=client, Username="xena", ConfirmationCode=code, Session="x" * 40),
            "NotAuthorizedException")
    confirmed = c.confirm_sign_up(ClientId=client, Username="xena", ConfirmationCode=code, Session=up["Session"])
    assert confirmed["Session"]
    # SignUp's own Session signs no one in; ConfirmSignUp's does, and only its user.
    refused(lambda: c.initiate_auth(ClientId=client, AuthFlow="USER_AUTH", Session=up["Session"],
                                    AuthParameters={"USERNAME": "xena"}), "NotAuthorizedException")
    refused(lambda: c.initiate_auth(ClientId=client, AuthFlow="USER_AUTH", Session=confirmed["Session"],
                                    AuthParameters={"USERNAME": "someone-else"}), "NotAuthorizedException")
    done = c.initiate_auth(ClientId=client, AuthFlow="USER_AUTH", Session=confirmed["Session"],
                           AuthParameters={"USERNAME": "xena"})
    assert "AccessToken" in done["AuthenticationResult"]
    assert c.get_user(AccessToken=done["AuthenticationResult"]["AccessToken"])["Username"] == "xena"


def test_sign_in_policy_limits(channels):
    c = channels["front"].client()
    refused(lambda: c.create_user_pool(PoolName="lite", UserPoolTier="LITE",
                                       Policies={"SignInPolicy": {"AllowedFirstAuthFactors": ["PASSWORD", "EMAIL_OTP"]}}),
            "FeatureUnavailableInTierException")
    refused(lambda: c.create_user_pool(PoolName="nopw", Policies={"SignInPolicy": {"AllowedFirstAuthFactors": ["EMAIL_OTP"]}}),
            "InvalidParameterException")
    # With MFA required, users keep to passwords: no passwordless factor is offered.
    pool, client = choice_pool(c)
    c.set_user_pool_mfa_config(UserPoolId=pool, MfaConfiguration="ON", SoftwareTokenMfaConfiguration={"Enabled": True})
    person(c, pool, "yan", "+15550184")
    r = user_auth(c, client, "yan")
    assert r["AvailableChallenges"] == ["PASSWORD", "PASSWORD_SRP"]
    r = answer(c, client, r, "yan", ANSWER="PASSWORD", PASSWORD="Passw0rd!x")
    assert r["ChallengeName"] == "MFA_SETUP"


def test_passwordless_sign_up_and_a_first_password(channels):
    c = channels["front"].client()
    mail = channels["mail"]
    password_only, plain_client = choice_pool(c, factors=("PASSWORD",))
    message = refused(lambda: c.sign_up(ClientId=plain_client, Username="zed",
                                        UserAttributes=[{"Name": "email", "Value": "zed@example.com"}]),
                      "InvalidParameterException")
    assert "passwordless" in message
    pool, client = choice_pool(c)
    since = len(mail.messages)
    up = c.sign_up(ClientId=client, Username="zoe", UserAttributes=[{"Name": "email", "Value": "zoe@example.com"}])
    (m,) = mail.wait_for("zoe@example.com", since=since)
    confirmed = c.confirm_sign_up(ClientId=client, Username="zoe", ConfirmationCode=code_in(text_of(m)),
                                  Session=up["Session"])
    first = c.initiate_auth(ClientId=client, AuthFlow="USER_AUTH", Session=confirmed["Session"],
                            AuthParameters={"USERNAME": "zoe"})
    access = first["AuthenticationResult"]["AccessToken"]
    assert c.get_user_auth_factors(AccessToken=access)["ConfiguredUserAuthFactors"] == ["EMAIL_OTP"]
    # No password to offer: the choice is the email code alone, and a password is wrong.
    r = user_auth(c, client, "zoe")
    assert r["AvailableChallenges"] == ["EMAIL_OTP"]
    # Asking for PASSWORD anyway gets the choice, not a password check.
    assert user_auth(c, client, "zoe", PREFERRED_CHALLENGE="PASSWORD", PASSWORD="Passw0rd!x")["ChallengeName"] == \
        "SELECT_CHALLENGE"
    since = len(mail.messages)
    r = answer(c, client, r, "zoe", ANSWER="EMAIL_OTP")
    (m,) = mail.wait_for("zoe@example.com", since=since)
    assert "AccessToken" in answer(c, client, r, "zoe", EMAIL_OTP_CODE=code_in(text_of(m)))["AuthenticationResult"]
    # ChangePassword without PreviousPassword gives a passwordless user a first password.
    c.change_password(AccessToken=access, ProposedPassword="Passw0rd!x")
    assert user_auth(c, client, "zoe")["AvailableChallenges"] == ["PASSWORD", "PASSWORD_SRP", "EMAIL_OTP"]
    done = user_auth(c, client, "zoe", PREFERRED_CHALLENGE="PASSWORD", PASSWORD="Passw0rd!x")
    assert "AccessToken" in done["AuthenticationResult"]
    # Now it has one, the previous password is required.
    refused(lambda: c.change_password(AccessToken=access, ProposedPassword="Passw0rd!y"), "InvalidParameterException")
