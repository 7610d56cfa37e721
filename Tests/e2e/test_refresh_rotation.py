"""Refresh-token rotation through boto3 and authlib on a real cluster: a client with
RefreshTokenRotation gets a new refresh token from every GetTokensFromRefreshToken, the one
it replaced works again only within RetryGracePeriodSeconds (then RefreshTokenReuseException),
REFRESH_TOKEN_AUTH is refused for it, and the domain's token endpoint rotates too."""
import requests

from conftest import refused


def test_rotation_through_the_api(idp):
    pool = idp.create_user_pool(PoolName="rotation")["UserPool"]["Id"]
    flows = ["ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"]

    def rotating_client(grace):
        return idp.create_user_pool_client(
            UserPoolId=pool, ClientName=f"grace-{grace}", ExplicitAuthFlows=flows,
            RefreshTokenRotation={"Feature": "ENABLED", "RetryGracePeriodSeconds": grace})["UserPoolClient"]

    made = rotating_client(60)
    assert made["RefreshTokenRotation"] == {"Feature": "ENABLED", "RetryGracePeriodSeconds": 60}
    cid = made["ClientId"]
    idp.admin_create_user(UserPoolId=pool, Username="ann", MessageAction="SUPPRESS", TemporaryPassword="Temp0rary!x")
    idp.admin_set_user_password(UserPoolId=pool, Username="ann", Password="Passw0rd!x", Permanent=True)

    def sign_in(client):
        return idp.initiate_auth(ClientId=client, AuthFlow="USER_PASSWORD_AUTH", AuthParameters={
            "USERNAME": "ann", "PASSWORD": "Passw0rd!x"})["AuthenticationResult"]["RefreshToken"]

    first = sign_in(cid)
    refused(lambda: idp.initiate_auth(ClientId=cid, AuthFlow="REFRESH_TOKEN_AUTH",
                                      AuthParameters={"REFRESH_TOKEN": first}), "InvalidParameterException")
    one = idp.get_tokens_from_refresh_token(ClientId=cid, RefreshToken=first)["AuthenticationResult"]
    second = one["RefreshToken"]
    assert second != first and one["AccessToken"] and one["IdToken"]
    # Within the grace period (a minute) the replaced token answers again, with the
    # current one's id; the current one goes on rotating.
    assert idp.get_tokens_from_refresh_token(ClientId=cid, RefreshToken=first)["AuthenticationResult"]["AccessToken"]
    third = idp.get_tokens_from_refresh_token(ClientId=cid, RefreshToken=second)["AuthenticationResult"][
        "RefreshToken"]
    assert third not in (first, second)
    # Two rotations back: past its grace, whatever the clock says.
    refused(lambda: idp.get_tokens_from_refresh_token(ClientId=cid, RefreshToken=first), "RefreshTokenReuseException")
    assert idp.get_tokens_from_refresh_token(ClientId=cid, RefreshToken=third)["AuthenticationResult"]["RefreshToken"]

    # No grace period: the replaced token is refused at once.
    strict = rotating_client(0)["ClientId"]
    start = sign_in(strict)
    idp.get_tokens_from_refresh_token(ClientId=strict, RefreshToken=start)
    refused(lambda: idp.get_tokens_from_refresh_token(ClientId=strict, RefreshToken=start),
            "RefreshTokenReuseException")

    # Rotation off again: REFRESH_TOKEN_AUTH works, and no new refresh token is handed out.
    idp.update_user_pool_client(UserPoolId=pool, ClientId=cid, ExplicitAuthFlows=flows)
    plain = sign_in(cid)
    again = idp.initiate_auth(ClientId=cid, AuthFlow="REFRESH_TOKEN_AUTH", AuthParameters={"REFRESH_TOKEN": plain})
    assert "RefreshToken" not in again["AuthenticationResult"]


def test_rotation_at_the_token_endpoint(front, idp):
    pool = idp.create_user_pool(PoolName="rotation-web")["UserPool"]["Id"]
    idp.create_user_pool_domain(UserPoolId=pool, Domain="rotation-web")
    cid = idp.create_user_pool_client(
        UserPoolId=pool, ClientName="app", ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
        RefreshTokenRotation={"Feature": "ENABLED", "RetryGracePeriodSeconds": 0})["UserPoolClient"]["ClientId"]
    idp.admin_create_user(UserPoolId=pool, Username="bo", MessageAction="SUPPRESS", TemporaryPassword="Temp0rary!x")
    idp.admin_set_user_password(UserPoolId=pool, Username="bo", Password="Passw0rd!x", Permanent=True)
    first = idp.initiate_auth(ClientId=cid, AuthFlow="USER_PASSWORD_AUTH", AuthParameters={
        "USERNAME": "bo", "PASSWORD": "Passw0rd!x"})["AuthenticationResult"]["RefreshToken"]
    token = f"{front.endpoint}/rotation-web/oauth2/token"
    answer = requests.post(token, timeout=30, data={
        "grant_type": "refresh_token", "client_id": cid, "refresh_token": first}).json()
    assert answer["refresh_token"] != first and answer["access_token"]
    # No grace period: the replaced token is refused at once.
    reused = requests.post(token, timeout=30, data={"grant_type": "refresh_token", "client_id": cid,
                                                     "refresh_token": first})
    assert reused.status_code == 400 and reused.json()["error"] == "invalid_grant"
    assert requests.post(token, timeout=30, data={"grant_type": "refresh_token", "client_id": cid,
                                                  "refresh_token": answer["refresh_token"]}).status_code == 200
