"""Resource servers through boto3 on a real cluster: their scopes, the pool's limit, paging,
and app clients allowed only scopes that exist."""
from conftest import refused


def scopes(*names):
    return [{"ScopeName": n, "ScopeDescription": f"{n} things"} for n in names]


def test_resource_servers_and_client_scopes(idp):
    pool = idp.create_user_pool(PoolName="apis")["UserPool"]["Id"]
    made = idp.create_resource_server(UserPoolId=pool, Identifier="https://api.example.com", Name="orders",
                                      Scopes=scopes("read", "write"))["ResourceServer"]
    assert made["Identifier"] == "https://api.example.com" and len(made["Scopes"]) == 2
    refused(lambda: idp.create_resource_server(UserPoolId=pool, Identifier="https://api.example.com", Name="again"),
            "InvalidParameterException")
    refused(lambda: idp.create_resource_server(UserPoolId=pool, Identifier="dup", Name="d",
                                               Scopes=scopes("read", "read")), "InvalidParameterException")
    got = idp.describe_resource_server(UserPoolId=pool, Identifier="https://api.example.com")["ResourceServer"]
    assert got == made
    refused(lambda: idp.describe_resource_server(UserPoolId=pool, Identifier="none"), "ResourceNotFoundException")

    # Clients may be allowed standard scopes and the servers' scopes, nothing else.
    client = idp.create_user_pool_client(
        UserPoolId=pool, ClientName="m2m", GenerateSecret=True, AllowedOAuthFlows=["client_credentials"],
        AllowedOAuthFlowsUserPoolClient=True, AllowedOAuthScopes=["https://api.example.com/read"])["UserPoolClient"]
    assert client["AllowedOAuthScopes"] == ["https://api.example.com/read"]
    message = refused(lambda: idp.create_user_pool_client(
        UserPoolId=pool, ClientName="bad", AllowedOAuthFlows=["code"], AllowedOAuthFlowsUserPoolClient=True,
        CallbackURLs=["https://app.example.com/cb"], AllowedOAuthScopes=["openid", "https://api.example.com/delete"]),
        "InvalidParameterException")
    assert "https://api.example.com/delete" in message
    refused(lambda: idp.update_user_pool_client(
        UserPoolId=pool, ClientId=client["ClientId"], AllowedOAuthFlows=["client_credentials"],
        AllowedOAuthFlowsUserPoolClient=True, AllowedOAuthScopes=["https://api.example.com/admin"]),
        "InvalidParameterException")

    # Update replaces name and scopes; delete removes it.
    updated = idp.update_resource_server(UserPoolId=pool, Identifier="https://api.example.com", Name="orders-v2",
                                         Scopes=scopes("read", "write", "admin"))["ResourceServer"]
    assert updated["Name"] == "orders-v2" and len(updated["Scopes"]) == 3
    idp.update_user_pool_client(
        UserPoolId=pool, ClientId=client["ClientId"], AllowedOAuthFlows=["client_credentials"],
        AllowedOAuthFlowsUserPoolClient=True, AllowedOAuthScopes=["https://api.example.com/admin"])
    refused(lambda: idp.update_resource_server(UserPoolId=pool, Identifier="none", Name="x"),
            "ResourceNotFoundException")

    # At most 25 per pool; listed in pages by identifier.
    for i in range(24):
        idp.create_resource_server(UserPoolId=pool, Identifier=f"api-{i:02d}", Name=f"api {i}")
    refused(lambda: idp.create_resource_server(UserPoolId=pool, Identifier="api-25", Name="one too many"),
            "LimitExceededException")
    seen, token = [], None
    while True:
        page = idp.list_resource_servers(UserPoolId=pool, MaxResults=10, **({"NextToken": token} if token else {}))
        seen += [s["Identifier"] for s in page["ResourceServers"]]
        token = page.get("NextToken")
        if not token:
            break
    assert len(seen) == 25 and seen == sorted(seen)
    idp.delete_resource_server(UserPoolId=pool, Identifier="api-00")
    refused(lambda: idp.delete_resource_server(UserPoolId=pool, Identifier="api-00"), "ResourceNotFoundException")
    idp.create_resource_server(UserPoolId=pool, Identifier="api-25", Name="fits now")


def test_get_client_token_is_the_client_credentials_grant(front, idp):
    from test_front_signin import verify
    pool = idp.create_user_pool(PoolName="m2m")["UserPool"]["Id"]
    idp.create_resource_server(UserPoolId=pool, Identifier="orders", Name="orders", Scopes=scopes("read", "write"))
    made = idp.create_user_pool_client(
        UserPoolId=pool, ClientName="worker", GenerateSecret=True, AllowedOAuthFlows=["client_credentials"],
        AllowedOAuthFlowsUserPoolClient=True, AllowedOAuthScopes=["orders/read", "orders/write"])["UserPoolClient"]
    cid, secret = made["ClientId"], made["ClientSecret"]
    result = idp.get_client_token(ClientId=cid, Secret=secret)["ClientAuthenticationResult"]
    assert result["TokenType"] == "Bearer" and result["ExpiresIn"] == 3600
    claims = verify(front, pool, result["AccessToken"])
    assert claims["token_use"] == "access" and claims["client_id"] == cid and claims["sub"] == cid
    assert claims["scope"] == "orders/read orders/write" and "username" not in claims
    narrow = idp.get_client_token(ClientId=cid, Secret=secret, Scopes=["orders/read"])["ClientAuthenticationResult"]
    assert verify(front, pool, narrow["AccessToken"])["scope"] == "orders/read"
    # No user behind it: user operations refuse it.
    refused(lambda: idp.get_user(AccessToken=result["AccessToken"]), "NotAuthorizedException")
    refused(lambda: idp.get_client_token(ClientId=cid, Secret="w" * 40), "NotAuthorizedException")
    refused(lambda: idp.get_client_token(ClientId=cid, Secret=secret, Scopes=["orders/delete"]),
            "InvalidParameterException")
    # A scope its resource server no longer defines is no longer granted.
    idp.update_resource_server(UserPoolId=pool, Identifier="orders", Name="orders", Scopes=scopes("read"))
    again = idp.get_client_token(ClientId=cid, Secret=secret)["ClientAuthenticationResult"]
    assert verify(front, pool, again["AccessToken"])["scope"] == "orders/read"
    # A client not allowed the flow, and one without a secret, get nothing.
    code_client = idp.create_user_pool_client(
        UserPoolId=pool, ClientName="web", GenerateSecret=True, AllowedOAuthFlows=["code"],
        AllowedOAuthFlowsUserPoolClient=True, CallbackURLs=["https://app.example.com/cb"],
        AllowedOAuthScopes=["openid"])["UserPoolClient"]
    refused(lambda: idp.get_client_token(ClientId=code_client["ClientId"], Secret=code_client["ClientSecret"]),
            "NotAuthorizedException")


def test_oauth2_token_endpoint_with_authlib(front, idp):
    """The pool domain's POST /oauth2/token (path form) driven by authlib's OAuth 2.0 client:
    client_credentials with HTTP Basic and with the secret in the body, the refresh_token
    grant, and RFC 6749's errors."""
    import requests
    from authlib.integrations.requests_client import OAuth2Session
    from test_front_signin import verify
    pool = idp.create_user_pool(PoolName="oauth")["UserPool"]["Id"]
    idp.create_user_pool_domain(UserPoolId=pool, Domain="oauth-test-pool")
    idp.create_resource_server(UserPoolId=pool, Identifier="orders", Name="orders", Scopes=scopes("read", "write"))
    made = idp.create_user_pool_client(
        UserPoolId=pool, ClientName="worker", GenerateSecret=True, AllowedOAuthFlows=["client_credentials"],
        AllowedOAuthFlowsUserPoolClient=True, AllowedOAuthScopes=["orders/read", "orders/write"])["UserPoolClient"]
    cid, secret = made["ClientId"], made["ClientSecret"]
    url = f"{front.endpoint}/oauth-test-pool/oauth2/token"

    for method in ["client_secret_basic", "client_secret_post"]:
        session = OAuth2Session(cid, secret, token_endpoint_auth_method=method, scope="orders/read")
        token = session.fetch_token(url, grant_type="client_credentials")
        assert token["token_type"] == "Bearer" and token["expires_in"] == 3600
        claims = verify(front, pool, token["access_token"])
        assert claims["scope"] == "orders/read" and claims["client_id"] == cid

    def post(data, auth=(cid, secret)):
        return requests.post(url, data=data, auth=auth, timeout=10)

    r = post({"grant_type": "client_credentials", "scope": "orders/delete"})
    assert r.status_code == 400 and r.json()["error"] == "invalid_scope"
    r = post({"grant_type": "client_credentials"}, auth=(cid, "w" * 40))
    assert r.status_code == 401 and r.json()["error"] == "invalid_client"
    r = post({"grant_type": "password"})
    assert r.status_code == 400 and r.json()["error"] == "unsupported_grant_type"
    r = requests.post(f"{front.endpoint}/no-such-domain/oauth2/token", data={"grant_type": "client_credentials"},
                      auth=(cid, secret), timeout=10)
    assert r.status_code == 404
    assert r.headers["Cache-Control"] == "no-store"

    # refresh_token: a user's refresh token, from a sign-in with the same client.
    user_client = idp.create_user_pool_client(
        UserPoolId=pool, ClientName="app", ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"]
    )["UserPoolClient"]["ClientId"]
    idp.admin_create_user(UserPoolId=pool, Username="ola", MessageAction="SUPPRESS", TemporaryPassword="Temp0rary!x")
    idp.admin_set_user_password(UserPoolId=pool, Username="ola", Password="Passw0rd!x", Permanent=True)
    signed = idp.initiate_auth(ClientId=user_client, AuthFlow="USER_PASSWORD_AUTH",
                               AuthParameters={"USERNAME": "ola", "PASSWORD": "Passw0rd!x"})["AuthenticationResult"]
    session = OAuth2Session(user_client, token_endpoint_auth_method="none")
    refreshed = session.refresh_token(url, refresh_token=signed["RefreshToken"])
    assert verify(front, pool, refreshed["id_token"], audience=user_client)["cognito:username"] == "ola"
    r = requests.post(url, data={"grant_type": "refresh_token", "client_id": user_client, "refresh_token": "x" * 40},
                      timeout=10)
    assert r.status_code == 400 and r.json()["error"] == "invalid_grant"
    # Another client's refresh token is not this one's.
    r = post({"grant_type": "refresh_token", "refresh_token": signed["RefreshToken"]})
    assert r.status_code == 400 and r.json()["error"] == "invalid_grant"
    # /oauth2/revoke: the refresh token's family revoked; refreshing then fails.
    revoke_url = f"{front.endpoint}/oauth-test-pool/oauth2/revoke"
    r = requests.post(revoke_url, data={"token": signed["RefreshToken"]}, auth=(cid, secret), timeout=10)
    assert r.status_code == 400 and r.json()["error"] == "unauthorized_client"
    r = requests.post(revoke_url, data={"token": signed["AccessToken"], "client_id": user_client}, timeout=10)
    assert r.status_code == 400 and r.json()["error"] == "unsupported_token_type"
    r = requests.post(revoke_url, data={"token": signed["RefreshToken"], "client_id": user_client}, timeout=10)
    assert r.status_code == 200 and r.content == b""
    r = requests.post(url, data={"grant_type": "refresh_token", "client_id": user_client,
                                 "refresh_token": signed["RefreshToken"]}, timeout=10)
    assert r.status_code == 400 and r.json()["error"] == "invalid_grant"


def test_discovery_names_the_token_endpoint(front, idp):
    """authlib finds the token endpoint in the pool's discovery document."""
    import requests
    from authlib.integrations.requests_client import OAuth2Session
    pool = idp.create_user_pool(PoolName="discovery")["UserPool"]["Id"]
    config_url = f"{front.endpoint}/{pool}/.well-known/openid-configuration"
    assert "token_endpoint" not in requests.get(config_url, timeout=10).json()
    idp.create_user_pool_domain(UserPoolId=pool, Domain="discovery-test")
    idp.create_resource_server(UserPoolId=pool, Identifier="api", Name="api", Scopes=scopes("read"))
    made = idp.create_user_pool_client(
        UserPoolId=pool, ClientName="worker", GenerateSecret=True, AllowedOAuthFlows=["client_credentials"],
        AllowedOAuthFlowsUserPoolClient=True, AllowedOAuthScopes=["api/read"])["UserPoolClient"]
    config = requests.get(config_url, timeout=10).json()
    assert config["token_endpoint"] == f"{front.endpoint}/discovery-test/oauth2/token"
    session = OAuth2Session(made["ClientId"], made["ClientSecret"])
    assert session.fetch_token(config["token_endpoint"], grant_type="client_credentials")["access_token"]
