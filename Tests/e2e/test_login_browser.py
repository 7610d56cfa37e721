"""The managed login in a real browser: Debian's Chromium, headless, driven by Selenium. A
new user opens the app's sign-in link, signs up on the page, reads the code from the SMTP
server this test runs, confirms, gets a wrong password refused, signs in with the keyboard
only and lands on the app's callback with a code that the token endpoint redeems. Every
page is checked for labelled inputs and saved as a screenshot (COGNATE_SCREENSHOTS, or the
test's temporary directory), whose path the test prints."""
import os
import secrets
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlencode, urlparse

import pytest
import requests
from aiosmtpd.controller import Controller
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.ui import WebDriverWait

from conftest import Front, Mailbox, NodeCluster, code_in, free_ports, text_of


class App:
    """The app the login sends the browser back to: a page at /cb on localhost."""

    def __init__(self):
        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                body = b"<!doctype html><html lang=en><title>App</title><h1>Back in the app</h1></html>"
                self.send_response(200)
                self.send_header("Content-Type", "text/html")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", free_ports(1)[0]), Handler)
        self.callback = f"http://localhost:{self.server.server_port}/cb"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    mailbox = Mailbox()
    smtp = Controller(mailbox, hostname="127.0.0.1", port=free_ports(1)[0])
    smtp.start()
    app = App()
    cluster = NodeCluster(str(tmp_path_factory.mktemp("browser")), kv_harness=False, extra=[
        "[email]", f'smtp_url = "smtp://127.0.0.1:{smtp.port}"', 'from = "Cognate <no-reply@cognate.test>"'])
    cluster.start_all()
    front = Front(cluster)
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--window-size=900,1000"):
        options.add_argument(flag)
    browser = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
    browser.set_page_load_timeout(60)
    shots = os.environ.get("COGNATE_SCREENSHOTS") or str(tmp_path_factory.mktemp("screenshots"))
    os.makedirs(shots, exist_ok=True)
    yield {"mail": mailbox, "front": front, "idp": front.client(), "app": app, "browser": browser, "shots": shots}
    browser.quit()
    front.stop()
    cluster.stop_all()
    smtp.stop()
    app.server.shutdown()


def check_page(browser, shots, name):
    """Every visible input has a label naming it; the page is saved as `name`.png."""
    inputs = [i for i in browser.find_elements(By.TAG_NAME, "input") if i.get_attribute("type") != "hidden"]
    for field in inputs:
        labels = browser.find_elements(By.CSS_SELECTOR, f'label[for="{field.get_attribute("id")}"]')
        assert labels and labels[0].text.strip(), f"{name}: input {field.get_attribute('name')} has no label"
        if field.get_attribute("type") in ("text", "email", "password", "tel"):
            assert field.get_attribute("autocomplete"), f"{name}: {field.get_attribute('name')} has no autocomplete"
    path = os.path.join(shots, f"{name}.png")
    assert browser.save_screenshot(path)
    print(f"screenshot: {path}")


def wait_for(browser, css):
    return WebDriverWait(browser, 30).until(expected_conditions.presence_of_element_located((By.CSS_SELECTOR, css)))


def test_sign_up_confirm_and_sign_in_in_a_browser(site):
    idp, browser, shots = site["idp"], site["browser"], site["shots"]
    pool = idp.create_user_pool(PoolName="browser", AutoVerifiedAttributes=["email"])["UserPool"]["Id"]
    idp.create_user_pool_domain(UserPoolId=pool, Domain="acme-browser")
    client = idp.create_user_pool_client(
        UserPoolId=pool, ClientName="Acme Notes", AllowedOAuthFlows=["code"], AllowedOAuthFlowsUserPoolClient=True,
        AllowedOAuthScopes=["openid", "email"], CallbackURLs=[site["app"].callback],
        SupportedIdentityProviders=["COGNITO"])["UserPoolClient"]["ClientId"]
    state = secrets.token_urlsafe(8)
    base = site["front"].endpoint
    browser.get(f"{base}/acme-browser/oauth2/authorize?" + urlencode({
        "client_id": client, "response_type": "code", "redirect_uri": site["app"].callback, "scope": "openid email",
        "state": state}))
    assert urlparse(browser.current_url).path == "/acme-browser/login"
    assert browser.find_element(By.TAG_NAME, "h1").text == "Sign in to Acme Notes"
    check_page(browser, shots, "01-login")

    browser.find_element(By.ID, "signup").click()
    wait_for(browser, "input#email")
    check_page(browser, shots, "02-signup")
    browser.find_element(By.ID, "username").send_keys("nina")
    browser.find_element(By.ID, "email").send_keys("nina@example.com")
    browser.find_element(By.ID, "password").send_keys("Corr3ct!horse", Keys.ENTER)

    wait_for(browser, "input#code")
    assert urlparse(browser.current_url).path == "/acme-browser/confirmUser"
    check_page(browser, shots, "03-confirm")
    (mail,) = site["mail"].wait_for("nina@example.com")
    browser.find_element(By.ID, "code").send_keys(code_in(text_of(mail)), Keys.ENTER)

    wait_for(browser, "#notice")
    assert urlparse(browser.current_url).path == "/acme-browser/login"
    assert browser.find_element(By.ID, "username").get_attribute("value") == "nina"
    check_page(browser, shots, "04-confirmed")
    browser.find_element(By.ID, "password").send_keys("wrong-password", Keys.ENTER)
    assert wait_for(browser, "#error").text == "Incorrect username or password."
    check_page(browser, shots, "05-wrong-password")

    # Keyboard only: Tab from the username to the password, Enter to submit.
    username = browser.find_element(By.ID, "username")
    username.click()
    username.send_keys(Keys.TAB)
    browser.switch_to.active_element.send_keys("Corr3ct!horse", Keys.ENTER)
    WebDriverWait(browser, 30).until(lambda b: b.current_url.startswith(site["app"].callback))
    back = parse_qs(urlparse(browser.current_url).query)
    assert back["state"] == [state]
    check_page(browser, shots, "06-callback")

    token_endpoint = requests.get(f"{base}/{pool}/.well-known/openid-configuration", timeout=30).json()[
        "token_endpoint"]
    tokens = requests.post(token_endpoint, timeout=30, data={
        "grant_type": "authorization_code", "client_id": client, "code": back["code"][0],
        "redirect_uri": site["app"].callback}).json()
    assert "id_token" in tokens and "access_token" in tokens, tokens
    assert idp.admin_get_user(UserPoolId=pool, Username="nina")["UserStatus"] == "CONFIRMED"


def test_sign_in_with_a_passkey_in_a_browser(site):
    """The passkey button: the page's script hands WebAuthn's options to Chromium's virtual
    authenticator (holding a passkey registered through the API by soft-webauthn), posts its
    assertion, and the browser lands on the callback. The domain is served by its host
    (`acme-keys.auth.us-east-1.localhost`, the relying party: browsers take plain HTTP for
    names under `.localhost`)."""
    import base64
    import copy

    from cryptography.hazmat.primitives import serialization
    from selenium.webdriver.common.virtual_authenticator import Credential, VirtualAuthenticatorOptions
    from soft_webauthn import SoftWebauthnDevice

    idp, browser, shots = site["idp"], site["browser"], site["shots"]
    rp = "acme-keys.auth.us-east-1.localhost"
    pool = idp.create_user_pool(PoolName="browser-passkeys", Policies={
        "SignInPolicy": {"AllowedFirstAuthFactors": ["PASSWORD", "WEB_AUTHN"]}})["UserPool"]["Id"]
    idp.set_user_pool_mfa_config(UserPoolId=pool, MfaConfiguration="OFF",
                                 WebAuthnConfiguration={"RelyingPartyId": rp, "UserVerification": "preferred"})
    idp.create_user_pool_domain(UserPoolId=pool, Domain="acme-keys")
    client = idp.create_user_pool_client(
        UserPoolId=pool, ClientName="Acme Keys", AllowedOAuthFlows=["code"], AllowedOAuthFlowsUserPoolClient=True,
        AllowedOAuthScopes=["openid"], CallbackURLs=[site["app"].callback], SupportedIdentityProviders=["COGNITO"],
        ExplicitAuthFlows=["ALLOW_USER_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"])["UserPoolClient"]["ClientId"]
    idp.admin_create_user(UserPoolId=pool, Username="kim", MessageAction="SUPPRESS", TemporaryPassword="Temp0rary!x")
    idp.admin_set_user_password(UserPoolId=pool, Username="kim", Password="Passw0rd!x", Permanent=True)
    access = idp.initiate_auth(ClientId=client, AuthFlow="USER_AUTH", AuthParameters={
        "USERNAME": "kim", "PREFERRED_CHALLENGE": "PASSWORD", "PASSWORD": "Passw0rd!x"})[
        "AuthenticationResult"]["AccessToken"]

    def unb64(text):
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))

    def b64(data):
        return base64.urlsafe_b64encode(data).decode().rstrip("=")

    device = SoftWebauthnDevice()
    options = copy.deepcopy(idp.start_web_authn_registration(AccessToken=access)["CredentialCreationOptions"])
    options["challenge"] = unb64(options["challenge"])
    options["user"]["id"] = unb64(options["user"]["id"])
    options["pubKeyCredParams"] = [{"type": p["type"], "alg": int(p["alg"])} for p in options["pubKeyCredParams"]]
    port = urlparse(site["front"].endpoint).port
    made = device.create({"publicKey": options}, f"http://{rp}:{port}")
    idp.complete_web_authn_registration(AccessToken=access, Credential={
        "id": b64(made["rawId"]), "rawId": b64(made["rawId"]), "type": "public-key",
        "response": {"clientDataJSON": b64(made["response"]["clientDataJSON"]),
                     "attestationObject": b64(made["response"]["attestationObject"])},
        "clientExtensionResults": {}})

    authenticator = VirtualAuthenticatorOptions(
        protocol=VirtualAuthenticatorOptions.Protocol.CTAP2, transport=VirtualAuthenticatorOptions.Transport.INTERNAL,
        has_resident_key=True, has_user_verification=True, is_user_verified=True)
    browser.add_virtual_authenticator(authenticator)
    try:
        key = device.private_key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
                                               serialization.NoEncryption())
        browser.add_credential(Credential.create_non_resident_credential(
            device.credential_id, rp, key, device.sign_count))
        browser.get(f"http://{rp}:{port}/oauth2/authorize?" + urlencode({
            "client_id": client, "response_type": "code", "redirect_uri": site["app"].callback, "state": "pk"}))
        wait_for(browser, "#alt-submit")
        check_page(browser, shots, "07-passkey-login")
        browser.find_element(By.ID, "username").send_keys("kim")
        browser.find_element(By.ID, "alt-submit").click()
        wait_for(browser, "#passkey")
        check_page(browser, shots, "08-passkey-step")
        browser.find_element(By.ID, "passkey").click()

        def landed(b):
            # The script says why when the browser refuses the passkey.
            status = b.find_elements(By.ID, "passkey-status")
            assert not (status and status[0].text), status[0].text
            return b.current_url.startswith(site["app"].callback)
        WebDriverWait(browser, 30).until(landed)
        assert parse_qs(urlparse(browser.current_url).query)["state"] == ["pk"]
        check_page(browser, shots, "09-passkey-callback")
        # The passkey's counter moved on the user's record.
        listed = idp.list_web_authn_credentials(AccessToken=access)["Credentials"]
        assert len(listed) == 1
    finally:
        browser.remove_virtual_authenticator()
