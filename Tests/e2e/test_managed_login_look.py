"""The managed login's look and legal links through boto3 on a real cluster, and what the
pages then show: UI customization (CSS on Cognito's classes, a PNG logo; the pool's and a
client's; bad CSS and images refused; the ImageUrl serving the logo), terms (one of each
name per client, links on the sign-up page), and managed login branding (one per client,
its form logo on a version 2 domain's pages)."""
import base64
import re
import struct
import zlib

import pytest
import requests

from conftest import refused

CALLBACK = "https://app.example.com/cb"


def png(rgb=(255, 0, 0)):
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    pixel = b"\x00" + bytes(rgb)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(pixel)) + chunk(b"IEND", b""))


@pytest.fixture(scope="module")
def site(front, idp):
    pool = idp.create_user_pool(PoolName="look")["UserPool"]["Id"]
    idp.create_user_pool_domain(UserPoolId=pool, Domain="acme-look")

    def client(name):
        return idp.create_user_pool_client(
            UserPoolId=pool, ClientName=name, AllowedOAuthFlows=["code"], AllowedOAuthFlowsUserPoolClient=True,
            AllowedOAuthScopes=["openid"], CallbackURLs=[CALLBACK],
            SupportedIdentityProviders=["COGNITO"])["UserPoolClient"]["ClientId"]

    return {"pool": pool, "web": client("web"), "admin": client("admin"), "endpoint": front.endpoint}


def page(site, client, path="login"):
    r = requests.get(f"{site['endpoint']}/acme-look/{path}", timeout=30, params={
        "client_id": client, "response_type": "code", "redirect_uri": CALLBACK})
    assert r.status_code == 200, r.text
    return r.text


def test_ui_customization(site, idp):
    pool, web, admin = site["pool"], site["web"], site["admin"]
    css = ".submitButton-customizable { background-color: #e60000; }\n.label-customizable { color: #333; }"
    made = idp.set_ui_customization(UserPoolId=pool, CSS=css, ImageFile=png())["UICustomization"]
    assert made["ClientId"] == "ALL" and made["CSS"] == css and made["ImageUrl"].endswith(f"/{pool}/ui/ALL/logo")
    logo = requests.get(made["ImageUrl"], timeout=30)
    assert logo.status_code == 200 and logo.headers["Content-Type"] == "image/png" and logo.content == png()
    # A client without its own gets the pool's; its own wins once set.
    assert idp.get_ui_customization(UserPoolId=pool, ClientId=web)["UICustomization"]["CSS"] == css
    own = ".background-customizable { background-color: #00f; }"
    idp.set_ui_customization(UserPoolId=pool, ClientId=admin, CSS=own)
    assert idp.get_ui_customization(UserPoolId=pool, ClientId=admin)["UICustomization"]["CSS"] == own

    html = page(site, web)
    assert css in html and "data:image/png;base64," + base64.b64encode(png()).decode() in html
    assert 'class="submitButton-customizable"' in html
    assert own in page(site, admin) and css not in page(site, admin)

    for bad in ["body { color: red; }", ".label-customizable { color: red; } </style><script>x</script>",
                "@import 'x.css';", ".label-customizable { background: url(https://x/y.png); }",
                ".label-customizable { color: red;"]:
        refused(lambda: idp.set_ui_customization(UserPoolId=pool, CSS=bad), "InvalidParameterException")
    refused(lambda: idp.set_ui_customization(UserPoolId=pool, ImageFile=b"GIF89a-not-allowed"),
            "InvalidParameterException")
    refused(lambda: idp.set_ui_customization(UserPoolId=pool, ClientId="nosuchclient", CSS=css),
            "ResourceNotFoundException")

    # Neither CSS nor an image: the customization is removed.
    idp.set_ui_customization(UserPoolId=pool, ClientId=admin)
    assert idp.get_ui_customization(UserPoolId=pool, ClientId=admin)["UICustomization"]["CSS"] == css
    idp.set_ui_customization(UserPoolId=pool)
    assert "CSS" not in idp.get_ui_customization(UserPoolId=pool)["UICustomization"]
    assert 'id="pool-css"' not in page(site, web)


def test_terms_on_the_sign_up_page(site, idp):
    pool, web = site["pool"], site["web"]
    made = idp.create_terms(UserPoolId=pool, ClientId=web, TermsName="terms-of-use", TermsSource="LINK",
                            Enforcement="NONE", Links={"cognito:default": "https://acme.example/terms"})["Terms"]
    assert re.fullmatch(r"[0-9a-f-]{36}", made["TermsId"]) and made["ClientId"] == web
    refused(lambda: idp.create_terms(UserPoolId=pool, ClientId=web, TermsName="terms-of-use", TermsSource="LINK",
                                     Enforcement="NONE", Links={"cognito:default": "https://acme.example/t2"}),
            "TermsExistsException")
    refused(lambda: idp.create_terms(UserPoolId=pool, ClientId=web, TermsName="privacy-policy", TermsSource="LINK",
                                     Enforcement="NONE", Links={"cognito:default": "http://acme.example/p"}),
            "InvalidParameterException")
    privacy = idp.create_terms(UserPoolId=pool, ClientId=web, TermsName="privacy-policy", TermsSource="LINK",
                               Enforcement="NONE", Links={"cognito:english": "https://acme.example/privacy"})["Terms"]
    listed = idp.list_terms(UserPoolId=pool)["Terms"]
    assert {t["TermsId"] for t in listed} == {made["TermsId"], privacy["TermsId"]}
    html = page(site, web, "signup")
    assert 'href="https://acme.example/terms"' in html and 'href="https://acme.example/privacy"' in html
    assert "https://acme.example/terms" not in page(site, web, "login")

    updated = idp.update_terms(TermsId=made["TermsId"], UserPoolId=pool,
                               Links={"cognito:default": "https://acme.example/terms-v2"})["Terms"]
    assert updated["Links"] == {"cognito:default": "https://acme.example/terms-v2"}
    assert idp.describe_terms(TermsId=made["TermsId"], UserPoolId=pool)["Terms"]["Links"] == updated["Links"]
    idp.delete_terms(TermsId=made["TermsId"], UserPoolId=pool)
    refused(lambda: idp.describe_terms(TermsId=made["TermsId"], UserPoolId=pool), "ResourceNotFoundException")
    assert "terms-v2" not in page(site, web, "signup")


def test_managed_login_branding(site, idp):
    pool, web, admin = site["pool"], site["web"], site["admin"]
    settings = {"components": {"form": {"borderRadius": 8}}}
    asset = {"Category": "FORM_LOGO", "ColorMode": "LIGHT", "Extension": "PNG", "Bytes": png((0, 128, 0))}
    made = idp.create_managed_login_branding(UserPoolId=pool, ClientId=web, Settings=settings,
                                             Assets=[asset])["ManagedLoginBranding"]
    bid = made["ManagedLoginBrandingId"]
    assert made["UseCognitoProvidedValues"] is False and made["Settings"] == settings
    refused(lambda: idp.create_managed_login_branding(UserPoolId=pool, ClientId=web, UseCognitoProvidedValues=True),
            "ManagedLoginBrandingExistsException")
    refused(lambda: idp.create_managed_login_branding(UserPoolId=pool, ClientId=admin, UseCognitoProvidedValues=True,
                                                      Settings=settings), "InvalidParameterException")
    by_client = idp.describe_managed_login_branding_by_client(UserPoolId=pool, ClientId=web)["ManagedLoginBranding"]
    assert by_client["ManagedLoginBrandingId"] == bid and by_client["Assets"][0]["Bytes"] == png((0, 128, 0))
    assert idp.describe_managed_login_branding(UserPoolId=pool, ManagedLoginBrandingId=bid)[
        "ManagedLoginBranding"]["Settings"] == settings

    # The form logo shows on a version 2 domain's pages, not on the classic ones.
    logo = "data:image/png;base64," + base64.b64encode(png((0, 128, 0))).decode()
    assert logo not in page(site, web)
    idp.update_user_pool_domain(UserPoolId=pool, Domain="acme-look", ManagedLoginVersion=2)
    assert logo in page(site, web)

    updated = idp.update_managed_login_branding(UserPoolId=pool, ManagedLoginBrandingId=bid,
                                                UseCognitoProvidedValues=True)["ManagedLoginBranding"]
    assert updated["UseCognitoProvidedValues"] is True and not updated.get("Assets")
    assert logo not in page(site, web)
    idp.delete_managed_login_branding(UserPoolId=pool, ManagedLoginBrandingId=bid)
    refused(lambda: idp.describe_managed_login_branding(UserPoolId=pool, ManagedLoginBrandingId=bid),
            "ResourceNotFoundException")
    idp.update_user_pool_domain(UserPoolId=pool, Domain="acme-look", ManagedLoginVersion=1)
