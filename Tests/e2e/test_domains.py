"""User pool domains through boto3 on a real cluster: a prefix and a custom domain per pool,
names unique across pools, DescribeUserPoolDomain by name, updates, deletion, and the pool's
description naming them."""
from conftest import refused

CERT = "arn:aws:acm:us-east-1:123456789012:certificate/abc"


def test_prefix_and_custom_domains(idp):
    pool = idp.create_user_pool(PoolName="domains")["UserPool"]["Id"]
    other = idp.create_user_pool(PoolName="other")["UserPool"]["Id"]
    made = idp.create_user_pool_domain(UserPoolId=pool, Domain="acme-login")
    assert made["ManagedLoginVersion"] == 1 and "CloudFrontDomain" not in made
    # One prefix domain per pool; a name one pool has, no other pool gets.
    refused(lambda: idp.create_user_pool_domain(UserPoolId=pool, Domain="acme-two"), "InvalidParameterException")
    refused(lambda: idp.create_user_pool_domain(UserPoolId=other, Domain="acme-login"), "InvalidParameterException")
    for bad in ["Acme_Login", "-acme", "my-cognito-app", "aws-login"]:
        refused(lambda: idp.create_user_pool_domain(UserPoolId=other, Domain=bad), "InvalidParameterException")
    custom = idp.create_user_pool_domain(UserPoolId=pool, Domain="auth.acme.test", ManagedLoginVersion=2,
                                         CustomDomainConfig={"CertificateArn": CERT})
    assert custom["ManagedLoginVersion"] == 2 and custom["CloudFrontDomain"]
    refused(lambda: idp.create_user_pool_domain(UserPoolId=pool, Domain="login.acme.test",
                                                CustomDomainConfig={"CertificateArn": CERT}), "InvalidParameterException")

    d = idp.describe_user_pool_domain(Domain="acme-login")["DomainDescription"]
    assert d["UserPoolId"] == pool and d["Domain"] == "acme-login" and d["Status"] == "ACTIVE"
    assert "CustomDomainConfig" not in d
    d = idp.describe_user_pool_domain(Domain="auth.acme.test")["DomainDescription"]
    assert d["CustomDomainConfig"] == {"CertificateArn": CERT} and d["ManagedLoginVersion"] == 2
    assert idp.describe_user_pool_domain(Domain="nobody-has-this")["DomainDescription"] == {}
    described = idp.describe_user_pool(UserPoolId=pool)["UserPool"]
    assert described["Domain"] == "acme-login" and described["CustomDomain"] == "auth.acme.test"

    # UpdateUserPool keeps the domains; UpdateUserPoolDomain changes the version and certificate.
    idp.update_user_pool(UserPoolId=pool)
    assert idp.describe_user_pool(UserPoolId=pool)["UserPool"]["Domain"] == "acme-login"
    assert idp.update_user_pool_domain(UserPoolId=pool, Domain="acme-login", ManagedLoginVersion=2)[
        "ManagedLoginVersion"] == 2
    idp.update_user_pool_domain(UserPoolId=pool, Domain="auth.acme.test",
                                CustomDomainConfig={"CertificateArn": CERT + "-2"})
    assert idp.describe_user_pool_domain(Domain="auth.acme.test")["DomainDescription"]["CustomDomainConfig"] == {
        "CertificateArn": CERT + "-2"}
    refused(lambda: idp.update_user_pool_domain(UserPoolId=other, Domain="acme-login", ManagedLoginVersion=1),
            "InvalidParameterException")

    # A pool with a domain is not deleted; once the domain is gone, its name is free again.
    refused(lambda: idp.delete_user_pool(UserPoolId=pool), "InvalidParameterException")
    refused(lambda: idp.delete_user_pool_domain(UserPoolId=other, Domain="acme-login"), "InvalidParameterException")
    idp.delete_user_pool_domain(UserPoolId=pool, Domain="acme-login")
    assert idp.describe_user_pool_domain(Domain="acme-login")["DomainDescription"] == {}
    assert "Domain" not in idp.describe_user_pool(UserPoolId=pool)["UserPool"]
    idp.create_user_pool_domain(UserPoolId=other, Domain="acme-login")
    assert idp.describe_user_pool_domain(Domain="acme-login")["DomainDescription"]["UserPoolId"] == other
    idp.delete_user_pool_domain(UserPoolId=pool, Domain="auth.acme.test")
    idp.delete_user_pool(UserPoolId=pool)
