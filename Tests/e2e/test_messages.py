"""Codes and messages through real servers: an SMTP server (aiosmtpd) and an HTTP SMS
gateway started here, a real cluster whose shard leaders deliver to them, boto3 driving
every journey: sign-up confirmation, password recovery, attribute verification,
invitations, limits, an SMTP outage and a leader killed mid-stream."""
import json
import re
import threading
import time
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from aiosmtpd.controller import Controller

from conftest import Front, Mailbox, NodeCluster, code_in, free_ports, text_of


class SMSSink:
    """An HTTP SMS gateway: records every POSTed JSON body; `fail_next` answers 503."""

    def __init__(self):
        self.lock = threading.Condition()
        self.bodies = []
        self.fail_next = 0
        sink = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                with sink.lock:
                    failing = sink.fail_next > 0
                    if failing:
                        sink.fail_next -= 1
                    else:
                        sink.bodies.append(body)
                        sink.lock.notify_all()
                self.send_response(503 if failing else 200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", free_ports(1)[0]), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/sms"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def wait_for(self, phone, timeout=30):
        deadline = time.time() + timeout
        with self.lock:
            while True:
                found = [b for b in self.bodies if b["phoneNumber"] == phone]
                if found:
                    return found
                left = deadline - time.time()
                assert left > 0, f"no SMS to {phone} within {timeout} s"
                self.lock.wait(left)


@pytest.fixture(scope="module")
def channels(tmp_path_factory):
    mailbox = Mailbox()
    port = free_ports(1)[0]
    smtp = Controller(mailbox, hostname="127.0.0.1", port=port)
    smtp.start()
    sms = SMSSink()
    directory = str(tmp_path_factory.mktemp("messages"))
    cluster = NodeCluster(directory, kv_harness=False, extra=[
        "[email]", f'smtp_url = "smtp://127.0.0.1:{port}"', 'from = "Cognate <no-reply@cognate.test>"',
        "[sms]", f'webhook_url = "{sms.url}"'])
    cluster.start_all()
    front = Front(cluster)
    holder = {"mail": mailbox, "smtp": smtp, "smtp_port": port, "sms": sms, "cluster": cluster, "front": front}
    yield holder
    front.stop()
    cluster.stop_all()
    channels_smtp = holder["smtp"]
    channels_smtp.stop()
    sms.server.shutdown()


def make_pool(c, **kw):
    pool = c.create_user_pool(PoolName="messages", **kw)["UserPool"]["Id"]
    client = c.create_user_pool_client(
        UserPoolId=pool, ClientName="app", ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"]
    )["UserPoolClient"]["ClientId"]
    return pool, client


def sign_in(c, client, username, password):
    return c.initiate_auth(ClientId=client, AuthFlow="USER_PASSWORD_AUTH",
                           AuthParameters={"USERNAME": username, "PASSWORD": password})


def test_sign_up_sends_a_code_by_email_that_confirms_the_user(channels):
    c = channels["front"].client()
    mail = channels["mail"]
    pool, client = make_pool(c, AutoVerifiedAttributes=["email"])
    r = c.sign_up(ClientId=client, Username="alice", Password="Passw0rd!x",
                  UserAttributes=[{"Name": "email", "Value": "alice@example.com"}])
    assert r["UserConfirmed"] is False
    assert r["CodeDeliveryDetails"] == {"Destination": "a***@e***", "DeliveryMedium": "EMAIL",
                                        "AttributeName": "email"}
    (m,) = mail.wait_for("alice@example.com")
    msg = m["msg"]
    assert msg["Subject"] == "Your verification code"
    assert m["from"] == "no-reply@cognate.test" and "Cognate" in msg["From"]
    assert re.fullmatch(r"<\d+\.\d+\.\d+\.us-east-1_\w+@cognate>", msg["Message-ID"]), msg["Message-ID"]
    assert msg.get_content_type() == "multipart/alternative"
    code = code_in(text_of(m))
    assert text_of(m) == f"Your verification code is {code}. "
    with pytest.raises(c.exceptions.UserNotConfirmedException):
        sign_in(c, client, "alice", "Passw0rd!x")
    wrong = "000000" if code != "000000" else "111111"
    with pytest.raises(c.exceptions.CodeMismatchException):
        c.confirm_sign_up(ClientId=client, Username="alice", ConfirmationCode=wrong)
    c.confirm_sign_up(ClientId=client, Username="alice", ConfirmationCode=code)
    user = c.admin_get_user(UserPoolId=pool, Username="alice")
    attributes = {a["Name"]: a["Value"] for a in user["UserAttributes"]}
    assert user["UserStatus"] == "CONFIRMED" and attributes["email_verified"] == "true"
    assert "AccessToken" in sign_in(c, client, "alice", "Passw0rd!x")["AuthenticationResult"]
    # Used: the same code again is refused, and a confirmed user cannot be confirmed again.
    with pytest.raises(c.exceptions.NotAuthorizedException):
        c.confirm_sign_up(ClientId=client, Username="alice", ConfirmationCode=code)


def test_a_resent_code_supersedes_the_first_and_a_developer_sender_is_the_pools(channels):
    c = channels["front"].client()
    mail = channels["mail"]
    pool, client = make_pool(c, AutoVerifiedAttributes=["email"], EmailConfiguration={
        "EmailSendingAccount": "DEVELOPER", "From": "Shop <shop@shop.test>", "ReplyToEmailAddress": "help@shop.test",
        "SourceArn": "arn:aws:ses:us-east-1:123456789012:identity/shop.test"})
    c.sign_up(ClientId=client, Username="bob", Password="Passw0rd!x",
              UserAttributes=[{"Name": "email", "Value": "bob@example.com"}])
    (m,) = mail.wait_for("bob@example.com")
    assert m["from"] == "shop@shop.test" and m["msg"]["Reply-To"] == "help@shop.test"
    first = code_in(text_of(m))
    r = c.resend_confirmation_code(ClientId=client, Username="bob")
    assert r["CodeDeliveryDetails"]["DeliveryMedium"] == "EMAIL"
    second = code_in(text_of(mail.wait_for("bob@example.com", count=2)[1]))
    if first != second:
        with pytest.raises(c.exceptions.CodeMismatchException):
            c.confirm_sign_up(ClientId=client, Username="bob", ConfirmationCode=first)
    c.confirm_sign_up(ClientId=client, Username="bob", ConfirmationCode=second)
    with pytest.raises(c.exceptions.InvalidParameterException):
        c.resend_confirmation_code(ClientId=client, Username="bob")


def test_confirm_with_link_opens_the_fronts_page_and_confirms(channels):
    c = channels["front"].client()
    mail = channels["mail"]
    pool, client = make_pool(c, AutoVerifiedAttributes=["email"], VerificationMessageTemplate={
        "DefaultEmailOption": "CONFIRM_WITH_LINK", "EmailSubjectByLink": "Confirm it",
        "EmailMessageByLink": "Welcome! {##Verify Email##}"})
    c.sign_up(ClientId=client, Username="lin+k", Password="Passw0rd!x",
              UserAttributes=[{"Name": "email", "Value": "link@example.com"}])
    (m,) = mail.wait_for("link@example.com")
    assert m["msg"]["Subject"] == "Confirm it"
    html = m["msg"].get_body(preferencelist=("html",)).get_content()
    url = re.search(r'<a href="([^"]+)">Verify Email</a>', html).group(1).replace("&amp;", "&")
    assert url.startswith(channels["front"].endpoint + "/confirmUser?client_id=" + client + "&user_name=lin%2Bk&")
    assert text_of(m) == f"Welcome! Verify Email: {url}"
    with urllib.request.urlopen(url) as page:
        assert page.status == 200 and "Your registration has been confirmed!" in page.read().decode()
    user = c.admin_get_user(UserPoolId=pool, Username="lin+k")
    assert user["UserStatus"] == "CONFIRMED"
    assert {a["Name"]: a["Value"] for a in user["UserAttributes"]}["email_verified"] == "true"
    # Used: the link again is an error page, not a second confirmation.
    with pytest.raises(urllib.error.HTTPError) as again:
        urllib.request.urlopen(url)
    assert again.value.code == 400 and "cannot be confirmed" in again.value.read().decode()


def test_forgot_password_by_email_and_its_limits(channels):
    c = channels["front"].client()
    mail = channels["mail"]
    pool, client = make_pool(c, AutoVerifiedAttributes=["email"], AccountRecoverySetting={
        "RecoveryMechanisms": [{"Name": "verified_email", "Priority": 1}]})
    c.admin_create_user(UserPoolId=pool, Username="carol", TemporaryPassword="Temp0rary!x", MessageAction="SUPPRESS",
                        UserAttributes=[{"Name": "email", "Value": "carol@example.com"},
                                        {"Name": "email_verified", "Value": "true"}])
    c.admin_set_user_password(UserPoolId=pool, Username="carol", Password="Passw0rd!x", Permanent=True)
    r = c.forgot_password(ClientId=client, Username="carol")
    assert r["CodeDeliveryDetails"] == {"Destination": "c***@e***", "DeliveryMedium": "EMAIL",
                                        "AttributeName": "email"}
    code = code_in(text_of(mail.wait_for("carol@example.com")[0]))
    wrong = "000000" if code != "000000" else "111111"
    for _ in range(5):
        with pytest.raises(c.exceptions.CodeMismatchException):
            c.confirm_forgot_password(ClientId=client, Username="carol", ConfirmationCode=wrong, Password="N3wPassw0rd!")
    # Five wrong codes: even the right one is refused now.
    with pytest.raises(c.exceptions.LimitExceededException):
        c.confirm_forgot_password(ClientId=client, Username="carol", ConfirmationCode=code, Password="N3wPassw0rd!")
    assert "AccessToken" in sign_in(c, client, "carol", "Passw0rd!x")["AuthenticationResult"]

    # A user with no verified channel cannot recover.
    c.admin_create_user(UserPoolId=pool, Username="dave", TemporaryPassword="Temp0rary!x", MessageAction="SUPPRESS",
                        UserAttributes=[{"Name": "email", "Value": "dave@example.com"}])
    with pytest.raises(c.exceptions.InvalidParameterException):
        c.forgot_password(ClientId=client, Username="dave")


def test_admin_reset_sends_a_code_and_the_user_sets_a_new_password(channels):
    c = channels["front"].client()
    mail = channels["mail"]
    pool, client = make_pool(c)
    c.admin_create_user(UserPoolId=pool, Username="erin", TemporaryPassword="Temp0rary!x", MessageAction="SUPPRESS",
                        UserAttributes=[{"Name": "email", "Value": "erin@example.com"},
                                        {"Name": "email_verified", "Value": "true"}])
    c.admin_set_user_password(UserPoolId=pool, Username="erin", Password="Passw0rd!x", Permanent=True)
    c.admin_reset_user_password(UserPoolId=pool, Username="erin")
    assert c.admin_get_user(UserPoolId=pool, Username="erin")["UserStatus"] == "RESET_REQUIRED"
    with pytest.raises(c.exceptions.PasswordResetRequiredException):
        sign_in(c, client, "erin", "Passw0rd!x")
    code = code_in(text_of(mail.wait_for("erin@example.com")[0]))
    c.confirm_forgot_password(ClientId=client, Username="erin", ConfirmationCode=code, Password="N3wPassw0rd!")
    assert c.admin_get_user(UserPoolId=pool, Username="erin")["UserStatus"] == "CONFIRMED"
    assert "AccessToken" in sign_in(c, client, "erin", "N3wPassw0rd!")["AuthenticationResult"]
    with pytest.raises(c.exceptions.CodeMismatchException):
        c.confirm_forgot_password(ClientId=client, Username="erin", ConfirmationCode=code, Password="Other0ne!xx")


def test_attribute_verification_and_an_update_that_waits_for_it(channels):
    c = channels["front"].client()
    mail = channels["mail"]
    pool, client = make_pool(c, AutoVerifiedAttributes=["email"], UserAttributeUpdateSettings={
        "AttributesRequireVerificationBeforeUpdate": ["email"]})
    c.admin_create_user(UserPoolId=pool, Username="frank", TemporaryPassword="Temp0rary!x", MessageAction="SUPPRESS",
                        UserAttributes=[{"Name": "email", "Value": "frank@example.com"},
                                        {"Name": "email_verified", "Value": "true"}])
    c.admin_set_user_password(UserPoolId=pool, Username="frank", Password="Passw0rd!x", Permanent=True)
    token = sign_in(c, client, "frank", "Passw0rd!x")["AuthenticationResult"]["AccessToken"]

    r = c.update_user_attributes(AccessToken=token, UserAttributes=[{"Name": "email", "Value": "f2@example.org"}])
    assert r["CodeDeliveryDetailsList"] == [{"Destination": "f***@e***", "DeliveryMedium": "EMAIL",
                                             "AttributeName": "email"}]
    code = code_in(text_of(mail.wait_for("f2@example.org")[0]))
    # Until verified, the old address stays in force.
    attributes = {a["Name"]: a["Value"] for a in c.get_user(AccessToken=token)["UserAttributes"]}
    assert attributes["email"] == "frank@example.com" and attributes["email_verified"] == "true"
    c.verify_user_attribute(AccessToken=token, AttributeName="email", Code=code)
    attributes = {a["Name"]: a["Value"] for a in c.get_user(AccessToken=token)["UserAttributes"]}
    assert attributes["email"] == "f2@example.org" and attributes["email_verified"] == "true"

    # GetUserAttributeVerificationCode sends a fresh one; a wrong one is refused.
    r = c.get_user_attribute_verification_code(AccessToken=token, AttributeName="email")
    assert r["CodeDeliveryDetails"]["Destination"] == "f***@e***"
    again = code_in(text_of(mail.wait_for("f2@example.org", count=2)[1]))
    wrong = "000000" if again != "000000" else "111111"
    with pytest.raises(c.exceptions.CodeMismatchException):
        c.verify_user_attribute(AccessToken=token, AttributeName="email", Code=wrong)
    c.verify_user_attribute(AccessToken=token, AttributeName="email", Code=again)


def test_invitations_by_email_and_sms_carry_username_and_temporary_password(channels):
    c = channels["front"].client()
    mail, sms = channels["mail"], channels["sms"]
    pool, client = make_pool(c, AdminCreateUserConfig={"InviteMessageTemplate": {
        "EmailSubject": "Welcome", "EmailMessage": "<p>Hello {username}, your password is <b>{####}</b></p>",
        "SMSMessage": "User {username} password {####}"}})
    c.admin_create_user(UserPoolId=pool, Username="grace", DesiredDeliveryMediums=["EMAIL", "SMS"],
                        UserAttributes=[{"Name": "email", "Value": "grace@example.com"},
                                        {"Name": "phone_number", "Value": "+15550100"}])
    (m,) = mail.wait_for("grace@example.com")
    assert m["msg"]["Subject"] == "Welcome"
    html = m["msg"].get_body(preferencelist=("html",)).get_content()
    password = re.search(r"<b>(.+)</b>", html).group(1)
    assert text_of(m) == f"Hello grace, your password is {password}\n"
    (body,) = sms.wait_for("+15550100")
    assert body["message"] == f"User grace password {password}" and body["userPoolId"] == pool
    assert re.fullmatch(r"\d+\.\d+\.\d+", body["messageId"])
    r = sign_in(c, client, "grace", password)
    assert r["ChallengeName"] == "NEW_PASSWORD_REQUIRED"

    # RESEND: a new temporary password, the old one no longer works.
    c.admin_create_user(UserPoolId=pool, Username="grace", MessageAction="RESEND", DesiredDeliveryMediums=["EMAIL"])
    second = mail.wait_for("grace@example.com", count=2)[1]
    new_password = re.search(r"<b>(.+)</b>", second["msg"].get_body(preferencelist=("html",)).get_content()).group(1)
    assert new_password != password
    with pytest.raises(c.exceptions.NotAuthorizedException):
        sign_in(c, client, "grace", password)
    assert sign_in(c, client, "grace", new_password)["ChallengeName"] == "NEW_PASSWORD_REQUIRED"

    # Templates are checked as Cognito checks them.
    with pytest.raises(c.exceptions.InvalidParameterException):
        c.create_user_pool(PoolName="bad", AdminCreateUserConfig={"InviteMessageTemplate": {
            "EmailMessage": "no placeholders"}})
    with pytest.raises(c.exceptions.InvalidParameterException):
        c.create_user_pool(PoolName="bad", VerificationMessageTemplate={"EmailMessage": "no code here"})


def test_phone_sign_up_gets_its_code_by_sms_even_when_the_gateway_fails_once(channels):
    c = channels["front"].client()
    sms = channels["sms"]
    pool, client = make_pool(c, AutoVerifiedAttributes=["phone_number"], SmsVerificationMessage="Code: {####}")
    with sms.lock:
        sms.fail_next = 1
    r = c.sign_up(ClientId=client, Username="heidi", Password="Passw0rd!x",
                  UserAttributes=[{"Name": "phone_number", "Value": "+15550111"}])
    assert r["CodeDeliveryDetails"] == {"Destination": "+****0111", "DeliveryMedium": "SMS",
                                        "AttributeName": "phone_number"}
    (body,) = sms.wait_for("+15550111")
    assert body["message"].startswith("Code: ")
    c.confirm_sign_up(ClientId=client, Username="heidi", ConfirmationCode=code_in(body["message"]))
    attributes = {a["Name"]: a["Value"] for a in c.admin_get_user(UserPoolId=pool, Username="heidi")["UserAttributes"]}
    assert attributes["phone_number_verified"] == "true"


def node_metric(cluster, name):
    total = 0.0
    for i in cluster.ids:
        try:
            text = cluster.metrics(i)
        except OSError:
            continue
        for line in text.splitlines():
            if line.startswith(name):
                total += float(line.split()[-1])
    return total


def mfa_user(c, pool, name):
    c.admin_create_user(UserPoolId=pool, Username=name, MessageAction="SUPPRESS", TemporaryPassword="Temp0rary!x",
                        UserAttributes=[{"Name": "email", "Value": f"{name}@example.com"},
                                        {"Name": "email_verified", "Value": "true"}])
    c.admin_set_user_password(UserPoolId=pool, Username=name, Password="Passw0rd!x", Permanent=True)


def answer(c, client, r, name, **responses):
    return c.respond_to_auth_challenge(ClientId=client, ChallengeName=r["ChallengeName"], Session=r["Session"],
                                       ChallengeResponses={"USERNAME": name, **responses})


def test_email_codes_as_a_second_factor(channels):
    """EMAIL_OTP after the password: the code comes by the pool's EmailMfaConfiguration
    message through the real SMTP server, a wrong code is refused, the right one once."""
    from botocore.exceptions import ClientError
    c = channels["front"].client()
    mail = channels["mail"]
    pool, client = make_pool(c)
    mfa_user(c, pool, "olga")
    c.set_user_pool_mfa_config(UserPoolId=pool, MfaConfiguration="OPTIONAL",
                               EmailMfaConfiguration={"Message": "Your sign-in code is {####}", "Subject": "Sign-in code"})
    assert c.get_user_pool_mfa_config(UserPoolId=pool)["EmailMfaConfiguration"]["Subject"] == "Sign-in code"
    c.admin_set_user_mfa_preference(UserPoolId=pool, Username="olga", EmailMfaSettings={"Enabled": True, "PreferredMfa": True})
    assert c.admin_get_user(UserPoolId=pool, Username="olga")["UserMFASettingList"] == ["EMAIL_OTP"]
    since = len(mail.messages)
    r = sign_in(c, client, "olga", "Passw0rd!x")
    assert r["ChallengeName"] == "EMAIL_OTP" and "AuthenticationResult" not in r
    assert r["ChallengeParameters"]["CODE_DELIVERY_DELIVERY_MEDIUM"] == "EMAIL"
    assert r["ChallengeParameters"]["CODE_DELIVERY_DESTINATION"] != "olga@example.com"
    (m,) = mail.wait_for("olga@example.com", since=since)
    assert m["msg"]["Subject"] == "Sign-in code" and "Your sign-in code is" in text_of(m)
    code = code_in(text_of(m))
    with pytest.raises(ClientError) as e:
        answer(c, client, r, "olga", EMAIL_OTP_CODE=f"{(int(code) + 1) % 1_000_000:06d}")
    assert e.value.response["Error"]["Code"] == "CodeMismatchException"
    done = answer(c, client, r, "olga", EMAIL_OTP_CODE=code)
    assert "AccessToken" in done["AuthenticationResult"]
    # Used: the session is over.
    with pytest.raises(ClientError) as e:
        answer(c, client, r, "olga", EMAIL_OTP_CODE=code)
    assert e.value.response["Error"]["Code"] == "NotAuthorizedException"


def test_sms_codes_as_a_second_factor_and_the_legacy_settings(channels):
    """SMS_MFA: the code by SmsMfaConfiguration's message through the SMS gateway; turned
    on by the legacy AdminSetUserSettings, shown as MFAOptions."""
    from botocore.exceptions import ClientError
    c = channels["front"].client()
    sms = channels["sms"]
    pool, client = make_pool(c)
    c.admin_create_user(UserPoolId=pool, Username="sid", MessageAction="SUPPRESS", TemporaryPassword="Temp0rary!x",
                        UserAttributes=[{"Name": "phone_number", "Value": "+15550177"},
                                        {"Name": "phone_number_verified", "Value": "true"}])
    c.admin_set_user_password(UserPoolId=pool, Username="sid", Password="Passw0rd!x", Permanent=True)
    with pytest.raises(ClientError) as e:
        c.set_user_pool_mfa_config(UserPoolId=pool, MfaConfiguration="OPTIONAL",
                                   SmsMfaConfiguration={"SmsAuthenticationMessage": "no code"})
    assert e.value.response["Error"]["Code"] == "InvalidParameterException"
    c.set_user_pool_mfa_config(UserPoolId=pool, MfaConfiguration="OPTIONAL", SmsMfaConfiguration={
        "SmsAuthenticationMessage": "Sign-in code: {####}",
        "SmsConfiguration": {"SnsCallerArn": "arn:aws:iam::123456789012:role/sns", "ExternalId": "x"}})
    c.admin_set_user_settings(UserPoolId=pool, Username="sid",
                              MFAOptions=[{"DeliveryMedium": "SMS", "AttributeName": "phone_number"}])
    got = c.admin_get_user(UserPoolId=pool, Username="sid")
    assert got["UserMFASettingList"] == ["SMS_MFA"]
    assert got["MFAOptions"] == [{"DeliveryMedium": "SMS", "AttributeName": "phone_number"}]
    r = sign_in(c, client, "sid", "Passw0rd!x")
    assert r["ChallengeName"] == "SMS_MFA" and r["ChallengeParameters"]["CODE_DELIVERY_DELIVERY_MEDIUM"] == "SMS"
    assert r["ChallengeParameters"]["CODE_DELIVERY_DESTINATION"].endswith("0177")
    (body,) = sms.wait_for("+15550177")
    assert body["message"].startswith("Sign-in code: ")
    code = code_in(body["message"])
    with pytest.raises(ClientError) as e:
        answer(c, client, r, "sid", SMS_MFA_CODE=f"{(int(code) + 1) % 1_000_000:06d}")
    assert e.value.response["Error"]["Code"] == "CodeMismatchException"
    assert "AccessToken" in answer(c, client, r, "sid", SMS_MFA_CODE=code)["AuthenticationResult"]
    # The legacy settings' empty list turns SMS MFA off again.
    c.admin_set_user_settings(UserPoolId=pool, Username="sid", MFAOptions=[])
    assert "AuthenticationResult" in sign_in(c, client, "sid", "Passw0rd!x")


def test_a_user_with_two_factors_chooses_one(channels):
    """SELECT_MFA_TYPE: TOTP (codes by pyotp) and email both on, neither preferred."""
    import pyotp
    from botocore.exceptions import ClientError
    c = channels["front"].client()
    mail = channels["mail"]
    pool, client = make_pool(c)
    mfa_user(c, pool, "pat")
    c.set_user_pool_mfa_config(UserPoolId=pool, MfaConfiguration="OPTIONAL",
                               SoftwareTokenMfaConfiguration={"Enabled": True}, EmailMfaConfiguration={})
    access = sign_in(c, client, "pat", "Passw0rd!x")["AuthenticationResult"]["AccessToken"]
    totp = pyotp.TOTP(c.associate_software_token(AccessToken=access)["SecretCode"])
    assert c.verify_software_token(AccessToken=access, UserCode=totp.now())["Status"] == "SUCCESS"
    c.set_user_mfa_preference(AccessToken=access, SoftwareTokenMfaSettings={"Enabled": True},
                              EmailMfaSettings={"Enabled": True})
    r = sign_in(c, client, "pat", "Passw0rd!x")
    assert r["ChallengeName"] == "SELECT_MFA_TYPE"
    assert json.loads(r["ChallengeParameters"]["MFAS_CAN_CHOOSE"]) == ["SOFTWARE_TOKEN_MFA", "EMAIL_OTP"]
    with pytest.raises(ClientError) as e:
        answer(c, client, r, "pat", ANSWER="SMS_MFA")
    assert e.value.response["Error"]["Code"] == "InvalidParameterException"
    since = len(mail.messages)
    chosen = answer(c, client, r, "pat", ANSWER="EMAIL_OTP")
    assert chosen["ChallengeName"] == "EMAIL_OTP"
    (m,) = mail.wait_for("pat@example.com", since=since)
    assert "AccessToken" in answer(c, client, chosen, "pat", EMAIL_OTP_CODE=code_in(text_of(m)))["AuthenticationResult"]
    # The other choice, in a new sign-in: the authenticator's next code.
    r = sign_in(c, client, "pat", "Passw0rd!x")
    chosen = answer(c, client, r, "pat", ANSWER="SOFTWARE_TOKEN_MFA")
    assert chosen["ChallengeName"] == "SOFTWARE_TOKEN_MFA"
    done = answer(c, client, chosen, "pat", SOFTWARE_TOKEN_MFA_CODE=totp.at(time.time() + 30))
    assert "AccessToken" in done["AuthenticationResult"]


def test_a_message_waits_out_an_smtp_outage(channels):
    c = channels["front"].client()
    mail, cluster = channels["mail"], channels["cluster"]
    pool, client = make_pool(c, AutoVerifiedAttributes=["email"])
    retries = node_metric(cluster, "cognate_message_retries_total")
    channels["smtp"].stop()
    try:
        c.sign_up(ClientId=client, Username="ivan", Password="Passw0rd!x",
                  UserAttributes=[{"Name": "email", "Value": "ivan@example.com"}])
        deadline = time.time() + 30
        while node_metric(cluster, "cognate_message_retries_total") < retries + 2:
            assert time.time() < deadline, "no retry counted while the SMTP server was down"
            time.sleep(0.2)
    finally:
        # A new server on the same port (an aiosmtpd controller does not restart).
        channels["smtp"] = Controller(mail, hostname="127.0.0.1", port=channels["smtp_port"])
        channels["smtp"].start()
    (m,) = mail.wait_for("ivan@example.com", timeout=60)
    c.confirm_sign_up(ClientId=client, Username="ivan", ConfirmationCode=code_in(text_of(m)))


def test_killing_a_shard_leader_while_sign_ups_stream_loses_no_code(channels):
    c = channels["front"].client()
    mail, cluster = channels["mail"], channels["cluster"]
    pool, client = make_pool(c, AutoVerifiedAttributes=["email"])
    acknowledged = []
    stop = threading.Event()

    def stream():
        i = 0
        while not stop.is_set() and i < 400:
            name = f"stream{i}"
            try:
                c.sign_up(ClientId=client, Username=name, Password="Passw0rd!x",
                          UserAttributes=[{"Name": "email", "Value": f"{name}@example.com"}])
                acknowledged.append(name)
            except Exception:
                pass  # Unacknowledged sign-ups during the election are not counted.
            i += 1

    t = threading.Thread(target=stream)
    t.start()
    try:
        deadline = time.time() + 30
        while len(acknowledged) < 10:
            assert time.time() < deadline
            time.sleep(0.05)
        victim = cluster.leader_of(1)
        cluster.kill(victim)
        time.sleep(2)
        cluster.start(victim)
        deadline = time.time() + 60
        while len(acknowledged) < 40:
            assert time.time() < deadline, len(acknowledged)
            time.sleep(0.1)
    finally:
        stop.set()
        t.join(timeout=120)
    cluster.wait_for_leaders()
    assert len(acknowledged) >= 40
    for name in acknowledged:
        received = mail.wait_for(f"{name}@example.com", timeout=90)
        c.confirm_sign_up(ClientId=client, Username=name, ConfirmationCode=code_in(text_of(received[0])))
        assert c.admin_get_user(UserPoolId=pool, Username=name)["UserStatus"] == "CONFIRMED"
    # At least once: a message sent twice (a leader died between sending it and recording
    # that) carries the same Message-ID and the same code.
    with mail.lock:
        by_address = {}
        for m in mail.messages:
            by_address.setdefault(m["to"][0], []).append((m["msg"]["Message-ID"], text_of(m)))
    for name in acknowledged:
        assert len(set(by_address[f"{name}@example.com"])) == 1, by_address[f"{name}@example.com"]


def private_ca(directory):
    """A CA and a certificate for localhost it signs (PEM files), for an SMTP server."""
    import datetime

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = datetime.datetime.now(datetime.timezone.utc)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "test mail CA")])
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
          .serial_number(1).not_valid_before(now - datetime.timedelta(days=1))
          .not_valid_after(now + datetime.timedelta(days=1))
          .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
          .sign(ca_key, hashes.SHA256()))
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (x509.CertificateBuilder().subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
            .issuer_name(ca_name).public_key(key.public_key()).serial_number(2)
            .not_valid_before(now - datetime.timedelta(days=1)).not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
            .sign(ca_key, hashes.SHA256()))
    paths = {name: str(directory / f"{name}.pem") for name in ("ca", "cert", "key")}
    with open(paths["ca"], "wb") as f:
        f.write(ca.public_bytes(serialization.Encoding.PEM))
    with open(paths["cert"], "wb") as f:
        f.write(cert.public_bytes(serialization.Encoding.PEM))
    with open(paths["key"], "wb") as f:
        f.write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                  serialization.NoEncryption()))
    return paths


def test_starttls_and_auth_with_a_private_ca(tmp_path):
    import ssl

    from aiosmtpd.smtp import AuthResult

    paths = private_ca(tmp_path)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(paths["cert"], paths["key"])
    logins = []

    def authenticator(server, session, envelope, mechanism, auth_data):
        ok = auth_data.login == b"mailer" and auth_data.password == b"s3cret"
        logins.append((mechanism, ok, session.ssl is not None))
        return AuthResult(success=ok)

    mailbox = Mailbox()
    port = free_ports(1)[0]
    smtp = Controller(mailbox, hostname="127.0.0.1", port=port, tls_context=context, require_starttls=True,
                      authenticator=authenticator, auth_require_tls=True, server_hostname="localhost")
    smtp.start()
    cluster = NodeCluster(str(tmp_path), kv_harness=False, extra=[
        "[email]", f'smtp_url = "smtp://mailer:s3cret@localhost:{port}"', 'starttls = "required"',
        f'ca_file = "{paths["ca"]}"'])
    cluster.start_all()
    front = Front(cluster)
    try:
        c = front.client()
        pool, client = make_pool(c, AutoVerifiedAttributes=["email"])
        c.sign_up(ClientId=client, Username="judy", Password="Passw0rd!x",
                  UserAttributes=[{"Name": "email", "Value": "judy@example.com"}])
        (m,) = mailbox.wait_for("judy@example.com")
        c.confirm_sign_up(ClientId=client, Username="judy", ConfirmationCode=code_in(text_of(m)))
        assert logins and all(ok and tls for _, ok, tls in logins), logins
    finally:
        front.stop()
        cluster.stop_all()
        smtp.stop()
