"""Client secret rotation through boto3 on a real cluster: a second secret added, both
authenticating SECRET_HASH, at most two, listed without their values, the old one deleted
and refused from then on, never the last one."""
import base64
import hashlib
import hmac

from conftest import refused


def secret_hash(secret, username, client_id):
    digest = hmac.new(secret.encode(), (username + client_id).encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def test_rotating_a_client_secret(idp):
    pool = idp.create_user_pool(PoolName="rotation")["UserPool"]["Id"]
    client = idp.create_user_pool_client(UserPoolId=pool, ClientName="server", GenerateSecret=True,
                                         ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"])
    cid, first = client["UserPoolClient"]["ClientId"], client["UserPoolClient"]["ClientSecret"]
    idp.admin_create_user(UserPoolId=pool, Username="ann", MessageAction="SUPPRESS", TemporaryPassword="Temp0rary!x")
    idp.admin_set_user_password(UserPoolId=pool, Username="ann", Password="Passw0rd!x", Permanent=True)

    def sign_in(secret):
        return idp.initiate_auth(ClientId=cid, AuthFlow="USER_PASSWORD_AUTH", AuthParameters={
            "USERNAME": "ann", "PASSWORD": "Passw0rd!x", "SECRET_HASH": secret_hash(secret, "ann", cid)})

    assert "AccessToken" in sign_in(first)["AuthenticationResult"]
    (original,) = idp.list_user_pool_client_secrets(UserPoolId=pool, ClientId=cid)["ClientSecrets"]
    assert "ClientSecretValue" not in original
    added = idp.add_user_pool_client_secret(UserPoolId=pool, ClientId=cid)["ClientSecretDescriptor"]
    second = added["ClientSecretValue"]
    assert second != first
    assert "AccessToken" in sign_in(first)["AuthenticationResult"]
    assert "AccessToken" in sign_in(second)["AuthenticationResult"]
    refused(lambda: idp.add_user_pool_client_secret(UserPoolId=pool, ClientId=cid), "LimitExceededException")
    listed = idp.list_user_pool_client_secrets(UserPoolId=pool, ClientId=cid)["ClientSecrets"]
    assert [s["ClientSecretId"] for s in listed] == [original["ClientSecretId"], added["ClientSecretId"]]
    # An update of the client's settings keeps both.
    idp.update_user_pool_client(UserPoolId=pool, ClientId=cid, ClientName="server",
                                ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"])
    assert len(idp.list_user_pool_client_secrets(UserPoolId=pool, ClientId=cid)["ClientSecrets"]) == 2

    idp.delete_user_pool_client_secret(UserPoolId=pool, ClientId=cid, ClientSecretId=original["ClientSecretId"])
    refused(lambda: sign_in(first), "NotAuthorizedException")
    assert "AccessToken" in sign_in(second)["AuthenticationResult"]
    refused(lambda: idp.delete_user_pool_client_secret(UserPoolId=pool, ClientId=cid,
                                                       ClientSecretId=added["ClientSecretId"]),
            "InvalidParameterException")
    refused(lambda: idp.delete_user_pool_client_secret(UserPoolId=pool, ClientId=cid, ClientSecretId="nope"),
            "ResourceNotFoundException")
    # A chosen value; and a public client has no secret to rotate.
    chosen = "x" * 40
    assert idp.add_user_pool_client_secret(UserPoolId=pool, ClientId=cid, ClientSecret=chosen)[
        "ClientSecretDescriptor"]["ClientSecretValue"] == chosen
    assert "AccessToken" in sign_in(chosen)["AuthenticationResult"]
    public = idp.create_user_pool_client(UserPoolId=pool, ClientName="spa")["UserPoolClient"]["ClientId"]
    refused(lambda: idp.add_user_pool_client_secret(UserPoolId=pool, ClientId=public), "InvalidParameterException")
