"""The pool domain's managed login on a real cluster, driven by an independent OIDC client
(authlib) and plain HTTP: authorization code with PKCE through the login form, the ID token
validated against the discovery document's keys, a code used twice, userInfo by scope,
refresh and revoke, the session cookie that skips the form, sign-out, the implicit flow,
and the refusals (a foreign redirect URI, a scope not allowed, a form without its CSRF
token, a wrong password, the API's tokens at userInfo)."""
import re
import secrets
import time
from urllib.parse import parse_qs, urljoin, urlparse

import pytest
import requests
from authlib.integrations.requests_client import OAuth2Session
from authlib.jose import JsonWebKey, jwt

from conftest import refused

CALLBACK = "http://localhost:8765/cb"
SIGNED_OUT = "http://localhost:8765/bye"


@pytest.fixture(scope="module")
def web(front, idp):
    pool = idp.create_user_pool(PoolName="web")["UserPool"]["Id"]
    idp.create_user_pool_domain(UserPoolId=pool, Domain="acme-web")
    made = idp.create_user_pool_client(
        UserPoolId=pool, ClientName="Acme", GenerateSecret=True, AllowedOAuthFlows=["code", "implicit"],
        AllowedOAuthFlowsUserPoolClient=True, AllowedOAuthScopes=["openid", "email", "profile"],
        CallbackURLs=[CALLBACK], LogoutURLs=[SIGNED_OUT], SupportedIdentityProviders=["COGNITO"],
        ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"])["UserPoolClient"]
    idp.admin_create_user(UserPoolId=pool, Username="ann", MessageAction="SUPPRESS", TemporaryPassword="Temp0rary!x",
                          UserAttributes=[{"Name": "email", "Value": "ann@example.com"},
                                          {"Name": "email_verified", "Value": "true"},
                                          {"Name": "given_name", "Value": "Ann"}])
    idp.admin_set_user_password(UserPoolId=pool, Username="ann", Password="Passw0rd!x", Permanent=True)
    discovery = requests.get(f"{front.endpoint}/{pool}/.well-known/openid-configuration", timeout=30).json()
    return {"pool": pool, "id": made["ClientId"], "secret": made["ClientSecret"], "meta": discovery,
            "endpoint": front.endpoint}


def login_form(browser, url):
    """GETs a page and returns its form's absolute action and CSRF token."""
    page = browser.get(url, allow_redirects=False, timeout=30)
    assert page.status_code == 200, page.text
    action = re.search(r'<form method="post" action="([^"]+)"', page.text).group(1).replace("&amp;", "&")
    csrf = re.search(r'name="_csrf" value="([^"]+)"', page.text).group(1)
    return urljoin(url, action), csrf


def sign_in_through_form(web, browser, url, password="Passw0rd!x"):
    """Follows authorize to the login page, posts the form, returns the redirect back."""
    first = browser.get(url, allow_redirects=False, timeout=30)
    assert first.status_code == 302, first.text
    login_url = urljoin(web["endpoint"], first.headers["Location"])
    assert urlparse(login_url).path == "/acme-web/login"
    action, csrf = login_form(browser, login_url)
    done = browser.post(action, data={"_csrf": csrf, "username": "ann", "password": password},
                        allow_redirects=False, timeout=30)
    return done


def test_authorization_code_with_pkce_refresh_userinfo_and_revoke(web):
    meta = web["meta"]
    assert meta["authorization_endpoint"].endswith("/acme-web/oauth2/authorize")
    oauth = OAuth2Session(web["id"], web["secret"], scope="openid email", redirect_uri=CALLBACK,
                          code_challenge_method="S256")
    verifier = secrets.token_urlsafe(48)
    nonce = secrets.token_urlsafe(12)
    url, state = oauth.create_authorization_url(meta["authorization_endpoint"], code_verifier=verifier, nonce=nonce)
    browser = requests.Session()
    back = sign_in_through_form(web, browser, url)
    assert back.status_code == 302 and back.headers["Location"].startswith(CALLBACK + "?"), back.text
    query = parse_qs(urlparse(back.headers["Location"]).query)
    assert query["state"] == [state]
    assert "HttpOnly" in back.headers["Set-Cookie"] and "SameSite=Lax" in back.headers["Set-Cookie"]

    token = oauth.fetch_token(meta["token_endpoint"], authorization_response=back.headers["Location"],
                              code_verifier=verifier)
    keys = JsonWebKey.import_key_set(requests.get(meta["jwks_uri"], timeout=30).json())
    claims = jwt.decode(token["id_token"], keys, claims_options={
        "iss": {"essential": True, "value": meta["issuer"]}, "aud": {"essential": True, "value": web["id"]},
        "nonce": {"essential": True, "value": nonce}})
    claims.validate()
    assert claims["cognito:username"] == "ann" and claims["email"] == "ann@example.com"
    assert claims["amr"] == ["pwd"]
    access = jwt.decode(token["access_token"], keys)
    assert access["scope"] == "openid email" and access["client_id"] == web["id"] and access["token_use"] == "access"
    assert token["refresh_token"]

    # The same code again: invalid_grant, whoever asks.
    again = requests.post(meta["token_endpoint"], auth=(web["id"], web["secret"]), timeout=30, data={
        "grant_type": "authorization_code", "code": query["code"][0], "redirect_uri": CALLBACK,
        "code_verifier": verifier})
    assert again.status_code == 400 and again.json()["error"] == "invalid_grant"

    # userInfo: the email scope reaches email, not given_name.
    info = oauth.get(meta["userinfo_endpoint"], timeout=30).json()
    assert info["email"] == "ann@example.com" and info["username"] == "ann" and "given_name" not in info

    # Refresh keeps the scopes; after revoke the refresh token is refused.
    refreshed = oauth.refresh_token(meta["token_endpoint"], refresh_token=token["refresh_token"])
    assert jwt.decode(refreshed["access_token"], keys)["scope"] == "openid email"
    assert oauth.revoke_token(meta["revocation_endpoint"], token["refresh_token"]).status_code == 200
    gone = requests.post(meta["token_endpoint"], auth=(web["id"], web["secret"]), timeout=30, data={
        "grant_type": "refresh_token", "refresh_token": token["refresh_token"]})
    assert gone.status_code == 400 and gone.json()["error"] == "invalid_grant"

    # The session cookie: a second authorize goes straight back with a code.
    url2, _ = oauth.create_authorization_url(meta["authorization_endpoint"], code_verifier=verifier)
    skip = browser.get(url2, allow_redirects=False, timeout=30)
    assert skip.status_code == 302 and skip.headers["Location"].startswith(CALLBACK + "?code="), skip.headers
    # prompt=login asks again; sign-out clears the session.
    assert "/acme-web/login" in browser.get(url2 + "&prompt=login", allow_redirects=False, timeout=30).headers[
        "Location"]
    out = browser.get(f"{web['endpoint']}/acme-web/logout", params={"client_id": web["id"], "logout_uri": SIGNED_OUT},
                      allow_redirects=False, timeout=30)
    assert out.status_code == 302 and out.headers["Location"] == SIGNED_OUT
    after = browser.get(url2, allow_redirects=False, timeout=30)
    assert "/acme-web/login" in after.headers["Location"]


def test_a_wrong_verifier_a_foreign_redirect_and_scopes_not_allowed(web):
    meta = web["meta"]
    oauth = OAuth2Session(web["id"], web["secret"], scope="openid", redirect_uri=CALLBACK,
                          code_challenge_method="S256")
    url, _ = oauth.create_authorization_url(meta["authorization_endpoint"], code_verifier=secrets.token_urlsafe(48))
    back = sign_in_through_form(web, requests.Session(), url)
    code = parse_qs(urlparse(back.headers["Location"]).query)["code"][0]
    wrong = requests.post(meta["token_endpoint"], auth=(web["id"], web["secret"]), timeout=30, data={
        "grant_type": "authorization_code", "code": code, "redirect_uri": CALLBACK,
        "code_verifier": secrets.token_urlsafe(48)})
    assert wrong.status_code == 400 and wrong.json()["error"] == "invalid_grant"

    base = {"client_id": web["id"], "response_type": "code", "redirect_uri": CALLBACK}
    foreign = requests.get(meta["authorization_endpoint"], params={**base, "redirect_uri": "https://evil.example/cb"},
                           allow_redirects=False, timeout=30)
    assert foreign.status_code == 400 and "Location" not in foreign.headers
    scope = requests.get(meta["authorization_endpoint"], params={**base, "scope": "openid phone", "state": "s1"},
                         allow_redirects=False, timeout=30)
    assert scope.status_code == 302
    sent = parse_qs(urlparse(scope.headers["Location"]).query)
    assert sent["error"] == ["invalid_scope"] and sent["state"] == ["s1"]
    plain = requests.get(meta["authorization_endpoint"], params={
        **base, "code_challenge": secrets.token_urlsafe(40), "code_challenge_method": "plain"},
        allow_redirects=False, timeout=30)
    assert parse_qs(urlparse(plain.headers["Location"]).query)["error"] == ["invalid_request"]


def test_the_form_needs_its_csrf_token_and_the_right_password(web):
    meta = web["meta"]
    url = requests.Request("GET", meta["authorization_endpoint"], params={
        "client_id": web["id"], "response_type": "code", "redirect_uri": CALLBACK}).prepare().url
    browser = requests.Session()
    login_url = urljoin(web["endpoint"], browser.get(url, allow_redirects=False, timeout=30).headers["Location"])
    action, csrf = login_form(browser, login_url)
    forged = requests.post(action, data={"_csrf": csrf, "username": "ann", "password": "Passw0rd!x"},
                           allow_redirects=False, timeout=30)
    assert forged.status_code == 403 and "Location" not in forged.headers
    wrong = browser.post(action, data={"_csrf": "x" * 43, "username": "ann", "password": "Passw0rd!x"},
                         allow_redirects=False, timeout=30)
    assert wrong.status_code == 403
    bad = browser.post(action, data={"_csrf": csrf, "username": "ann", "password": "nope"},
                       allow_redirects=False, timeout=30)
    assert bad.status_code == 400 and "Incorrect username or password." in bad.text


def test_implicit_flow_and_the_apis_tokens_at_userinfo(web, idp):
    meta = web["meta"]
    url = requests.Request("GET", meta["authorization_endpoint"], params={
        "client_id": web["id"], "response_type": "token", "redirect_uri": CALLBACK, "scope": "openid profile",
        "state": "imp"}).prepare().url
    back = sign_in_through_form(web, requests.Session(), url)
    fragment = parse_qs(urlparse(back.headers["Location"]).fragment)
    assert fragment["state"] == ["imp"] and fragment["token_type"] == ["Bearer"] and "refresh_token" not in fragment
    info = requests.get(meta["userinfo_endpoint"], headers={"Authorization": "Bearer " + fragment["access_token"][0]},
                        timeout=30).json()
    assert info["given_name"] == "Ann" and "email" not in info

    # The API's access token has no openid scope: userInfo refuses it, as Cognito does.
    import base64
    import hashlib
    import hmac
    digest = hmac.new(web["secret"].encode(), ("ann" + web["id"]).encode(), hashlib.sha256).digest()
    api = idp.initiate_auth(ClientId=web["id"], AuthFlow="USER_PASSWORD_AUTH", AuthParameters={
        "USERNAME": "ann", "PASSWORD": "Passw0rd!x", "SECRET_HASH": base64.b64encode(digest).decode()})
    refused_info = requests.get(meta["userinfo_endpoint"], timeout=30, headers={
        "Authorization": "Bearer " + api["AuthenticationResult"]["AccessToken"]})
    assert refused_info.status_code == 403 and refused_info.json()["error"] == "insufficient_scope"
    assert requests.get(meta["userinfo_endpoint"], timeout=30).status_code == 401


def test_client_oauth_settings_are_checked(web, idp):
    for bad in (["http://app.example.com/cb"], ["https://app.example.com/cb#frag"], ["relative/cb"]):
        refused(lambda: idp.create_user_pool_client(
            UserPoolId=web["pool"], ClientName="bad", AllowedOAuthFlows=["code"], AllowedOAuthFlowsUserPoolClient=True,
            AllowedOAuthScopes=["openid"], CallbackURLs=bad), "InvalidParameterException")
    refused(lambda: idp.create_user_pool_client(
        UserPoolId=web["pool"], ClientName="bad", AllowedOAuthFlows=["code"], AllowedOAuthFlowsUserPoolClient=True,
        AllowedOAuthScopes=["email"], CallbackURLs=[CALLBACK]), "InvalidParameterException")


def test_the_domain_served_by_its_host(web, idp):
    """`acme-web.auth.us-east-1.localhost` (the default domain suffix) and a custom domain
    reach the same pages without the path prefix; links, redirects and cookies follow."""
    endpoint, port = web["endpoint"], urlparse(web["endpoint"]).port
    host = f"acme-web.auth.us-east-1.localhost:{port}"
    browser = requests.Session()
    authorize = browser.get(f"{endpoint}/oauth2/authorize", headers={"Host": host}, allow_redirects=False,
                            timeout=30, params={"client_id": web["id"], "response_type": "code",
                                                "redirect_uri": CALLBACK, "state": "h"})
    assert authorize.status_code == 302 and authorize.headers["Location"].startswith("/login?")
    page = browser.get(endpoint + authorize.headers["Location"], headers={"Host": host}, timeout=30)
    assert page.status_code == 200 and "Path=/;" in page.headers["Set-Cookie"]
    action = re.search(r'<form method="post" action="([^"]+)"', page.text).group(1).replace("&amp;", "&")
    assert action.startswith("/login?")
    csrf = re.search(r'name="_csrf" value="([^"]+)"', page.text).group(1)
    back = browser.post(endpoint + action, headers={"Host": host}, allow_redirects=False, timeout=30,
                        data={"_csrf": csrf, "username": "ann", "password": "Passw0rd!x"})
    assert back.status_code == 302 and back.headers["Location"].startswith(CALLBACK + "?code=")
    code = parse_qs(urlparse(back.headers["Location"]).query)["code"][0]
    tokens = requests.post(f"{endpoint}/oauth2/token", headers={"Host": host}, auth=(web["id"], web["secret"]),
                           timeout=30, data={"grant_type": "authorization_code", "code": code,
                                             "redirect_uri": CALLBACK})
    assert tokens.status_code == 200 and tokens.json()["id_token"]
    # The discovery document lists the form it was asked by.
    meta = requests.get(f"{endpoint}/{web['pool']}/.well-known/openid-configuration", headers={"Host": host},
                        timeout=30).json()
    assert meta["authorization_endpoint"] == f"http://{host}/oauth2/authorize"
    assert web["meta"]["authorization_endpoint"] == f"{endpoint}/acme-web/oauth2/authorize"
    # A prefix no pool has; the API itself is not a domain's.
    assert requests.get(f"{endpoint}/oauth2/authorize", headers={"Host": f"nobody.auth.us-east-1.localhost:{port}"},
                        timeout=30).status_code == 404

    idp.create_user_pool_domain(UserPoolId=web["pool"], Domain="login.acme.test",
                                CustomDomainConfig={"CertificateArn": "arn:aws:acm:us-east-1:1:certificate/x"})
    custom = requests.get(f"{endpoint}/oauth2/authorize", headers={"Host": f"login.acme.test:{port}"},
                          allow_redirects=False, timeout=30, params={
                              "client_id": web["id"], "response_type": "code", "redirect_uri": CALLBACK})
    assert custom.status_code == 302 and custom.headers["Location"].startswith("/login?")
    login = requests.get(endpoint + custom.headers["Location"], headers={"Host": f"login.acme.test:{port}"},
                         timeout=30)
    # Not loopback: the cookies are Secure.
    assert login.status_code == 200 and "Secure" in login.headers["Set-Cookie"]
    idp.delete_user_pool_domain(UserPoolId=web["pool"], Domain="login.acme.test")


def form_fields(html):
    """A page's form: its absolute-path action and its hidden fields."""
    action = re.search(r'<form method="post" action="([^"]+)"', html).group(1).replace("&amp;", "&")
    hidden = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', html))
    return action, hidden


def test_mfa_setup_and_a_chosen_factor_on_the_pages(web, idp):
    """MFA ON and no factor: the page shows an authenticator key (MFA_SETUP); its first code
    (pyotp) finishes the sign-in. With two factors: a choice (SELECT_MFA_TYPE), then the code."""
    import pyotp
    endpoint = web["endpoint"]
    pool = idp.create_user_pool(PoolName="mfa-pages")["UserPool"]["Id"]
    idp.set_user_pool_mfa_config(UserPoolId=pool, MfaConfiguration="ON",
                                 SoftwareTokenMfaConfiguration={"Enabled": True})
    idp.create_user_pool_domain(UserPoolId=pool, Domain="acme-mfa")
    cid = idp.create_user_pool_client(
        UserPoolId=pool, ClientName="Acme", AllowedOAuthFlows=["code"], AllowedOAuthFlowsUserPoolClient=True,
        AllowedOAuthScopes=["openid"], CallbackURLs=[CALLBACK],
        SupportedIdentityProviders=["COGNITO"])["UserPoolClient"]["ClientId"]
    idp.admin_create_user(UserPoolId=pool, Username="max", MessageAction="SUPPRESS", TemporaryPassword="Temp0rary!x",
                          UserAttributes=[{"Name": "email", "Value": "max@example.com"},
                                          {"Name": "email_verified", "Value": "true"}])
    idp.admin_set_user_password(UserPoolId=pool, Username="max", Password="Passw0rd!x", Permanent=True)
    params = {"client_id": cid, "response_type": "code", "redirect_uri": CALLBACK}

    def password_step():
        browser = requests.Session()
        page = browser.get(f"{endpoint}/acme-mfa/login", params=params, timeout=30)
        action, hidden = form_fields(page.text)
        step = browser.post(endpoint + action, data={**hidden, "username": "max", "password": "Passw0rd!x"},
                            allow_redirects=False, timeout=30)
        assert step.status_code == 200, step.text
        return browser, step.text

    browser, setup = password_step()
    assert "Set up an authenticator app" in setup
    secret = re.search(r'<code id="secret">([A-Z2-7]+)</code>', setup).group(1)
    assert "otpauth://totp/" in setup
    action, hidden = form_fields(setup)
    assert hidden["challenge"] == "MFA_SETUP"
    totp = pyotp.TOTP(secret)
    wrong = browser.post(endpoint + action, data={**hidden, "code": f"{(int(totp.now()) + 1) % 1_000_000:06d}"},
                         allow_redirects=False, timeout=30)
    assert wrong.status_code == 400 and "Code mismatch" in wrong.text and secret in wrong.text
    done = browser.post(endpoint + action, data={**hidden, "code": totp.now()}, allow_redirects=False, timeout=30)
    assert done.status_code == 302 and done.headers["Location"].startswith(CALLBACK + "?code="), done.text

    # Two factors, neither preferred: a choice first.
    idp.set_user_pool_mfa_config(UserPoolId=pool, MfaConfiguration="ON", EmailMfaConfiguration={},
                                 SoftwareTokenMfaConfiguration={"Enabled": True})
    idp.admin_set_user_mfa_preference(UserPoolId=pool, Username="max",
                                      SoftwareTokenMfaSettings={"Enabled": True, "PreferredMfa": False},
                                      EmailMfaSettings={"Enabled": True})
    browser, choose = password_step()
    assert 'type="radio"' in choose and 'value="SOFTWARE_TOKEN_MFA"' in choose and 'value="EMAIL_OTP"' in choose
    assert re.search(r'<label for="answer-EMAIL_OTP"[^>]*>An email</label>', choose)
    action, hidden = form_fields(choose)
    assert hidden["challenge"] == "SELECT_MFA_TYPE"
    code_page = browser.post(endpoint + action, data={**hidden, "answer": "SOFTWARE_TOKEN_MFA"}, timeout=30)
    assert "Code from your authenticator app" in code_page.text
    action, hidden = form_fields(code_page.text)
    done = browser.post(endpoint + action, data={**hidden, "code": totp.at(time.time() + 30)},
                        allow_redirects=False, timeout=30)
    assert done.status_code == 302 and done.headers["Location"].startswith(CALLBACK + "?code="), done.text
