"""Groups, and email / phone as username or alias, claimed uniquely across shards."""
import threading

import pytest


@pytest.fixture(scope="module")
def idp(front):
    return front.client()


def test_groups_and_memberships(idp):
    pid = idp.create_user_pool(PoolName="groups")["UserPool"]["Id"]
    g = idp.create_group(UserPoolId=pid, GroupName="admins", Description="the admins", Precedence=1)["Group"]
    assert g["GroupName"] == "admins" and g["Precedence"] == 1
    with pytest.raises(idp.exceptions.GroupExistsException):
        idp.create_group(UserPoolId=pid, GroupName="admins")
    idp.create_group(UserPoolId=pid, GroupName="readers")
    assert idp.get_group(UserPoolId=pid, GroupName="readers")["Group"]["GroupName"] == "readers"
    idp.update_group(UserPoolId=pid, GroupName="readers", Description="read only")
    assert idp.get_group(UserPoolId=pid, GroupName="readers")["Group"]["Description"] == "read only"
    assert sorted(x["GroupName"] for x in idp.list_groups(UserPoolId=pid)["Groups"]) == ["admins", "readers"]

    members = [f"member{i}" for i in range(12)]
    for m in members:
        idp.admin_create_user(UserPoolId=pid, Username=m, MessageAction="SUPPRESS", TemporaryPassword="Temp0rary!")
        idp.admin_add_user_to_group(UserPoolId=pid, Username=m, GroupName="readers")
    idp.admin_add_user_to_group(UserPoolId=pid, Username="member0", GroupName="admins")
    assert sorted(x["GroupName"] for x in idp.admin_list_groups_for_user(UserPoolId=pid, Username="member0")["Groups"]) == ["admins", "readers"]

    seen, kwargs = [], {"UserPoolId": pid, "GroupName": "readers", "Limit": 5}
    while True:
        page = idp.list_users_in_group(**kwargs)
        seen += [u["Username"] for u in page["Users"]]
        if "NextToken" not in page:
            break
        kwargs["NextToken"] = page["NextToken"]
    assert sorted(seen) == sorted(members)

    idp.admin_remove_user_from_group(UserPoolId=pid, Username="member1", GroupName="readers")
    assert "member1" not in [u["Username"] for u in idp.list_users_in_group(UserPoolId=pid, GroupName="readers")["Users"]]
    with pytest.raises(idp.exceptions.ResourceNotFoundException):
        idp.admin_add_user_to_group(UserPoolId=pid, Username="member0", GroupName="nobody")
    with pytest.raises(idp.exceptions.UserNotFoundException):
        idp.admin_add_user_to_group(UserPoolId=pid, Username="ghost", GroupName="readers")

    idp.delete_group(UserPoolId=pid, GroupName="readers")
    with pytest.raises(idp.exceptions.ResourceNotFoundException):
        idp.get_group(UserPoolId=pid, GroupName="readers")
    assert [x["GroupName"] for x in idp.admin_list_groups_for_user(UserPoolId=pid, Username="member0")["Groups"]] == ["admins"]


def test_email_as_username(idp):
    pid = idp.create_user_pool(PoolName="email-username", UsernameAttributes=["email"])["UserPool"]["Id"]
    cid = idp.create_user_pool_client(UserPoolId=pid, ClientName="c")["UserPoolClient"]["ClientId"]
    sub = idp.sign_up(ClientId=cid, Username="Ada@Example.com", Password="Passw0rd!")["UserSub"]
    user = idp.admin_get_user(UserPoolId=pid, Username="ada@example.com")
    assert user["Username"] == sub
    assert {a["Name"]: a["Value"] for a in user["UserAttributes"]}["email"] == "Ada@Example.com"
    assert idp.admin_get_user(UserPoolId=pid, Username=sub)["Username"] == sub
    with pytest.raises(idp.exceptions.UsernameExistsException):
        idp.sign_up(ClientId=cid, Username="ADA@example.com", Password="Passw0rd!")
    with pytest.raises(idp.exceptions.InvalidParameterException):
        idp.sign_up(ClientId=cid, Username="not-an-email", Password="Passw0rd!")
    idp.admin_delete_user(UserPoolId=pid, Username="ada@example.com")
    # Deleting frees the email for someone else.
    again = idp.sign_up(ClientId=cid, Username="ada@example.com", Password="Passw0rd!")["UserSub"]
    assert again != sub


def test_email_alias_is_unique_and_resolves(idp):
    pid = idp.create_user_pool(PoolName="alias", AliasAttributes=["email"])["UserPool"]["Id"]
    cid = idp.create_user_pool_client(UserPoolId=pid, ClientName="c")["UserPoolClient"]["ClientId"]
    idp.sign_up(ClientId=cid, Username="grace", Password="Passw0rd!", UserAttributes=[{"Name": "email", "Value": "grace@example.com"}])
    with pytest.raises(idp.exceptions.AliasExistsException):
        idp.sign_up(ClientId=cid, Username="imposter", Password="Passw0rd!", UserAttributes=[{"Name": "email", "Value": "GRACE@example.com"}])
    with pytest.raises(idp.exceptions.UserNotFoundException):
        idp.admin_get_user(UserPoolId=pid, Username="imposter")
    assert idp.admin_get_user(UserPoolId=pid, Username="grace@example.com")["Username"] == "grace"
    # Changing the email moves the claim.
    idp.admin_update_user_attributes(UserPoolId=pid, Username="grace", UserAttributes=[{"Name": "email", "Value": "hopper@example.com"}])
    assert idp.admin_get_user(UserPoolId=pid, Username="hopper@example.com")["Username"] == "grace"
    idp.sign_up(ClientId=cid, Username="newcomer", Password="Passw0rd!", UserAttributes=[{"Name": "email", "Value": "grace@example.com"}])
    with pytest.raises(idp.exceptions.AliasExistsException):
        idp.admin_update_user_attributes(UserPoolId=pid, Username="newcomer", UserAttributes=[{"Name": "email", "Value": "hopper@example.com"}])


def test_two_sign_ups_racing_for_one_email_alias_exactly_one_wins(front):
    idp = front.client()
    pid = idp.create_user_pool(PoolName="race", AliasAttributes=["email"])["UserPool"]["Id"]
    cid = idp.create_user_pool_client(UserPoolId=pid, ClientName="c")["UserPoolClient"]["ClientId"]
    clients = [front.client(), front.client()]
    for i in range(200):
        results = [None, None]
        barrier = threading.Barrier(2)

        def attempt(k):
            barrier.wait()
            try:
                clients[k].sign_up(ClientId=cid, Username=f"racer{k}-{i}", Password="Passw0rd!",
                                   UserAttributes=[{"Name": "email", "Value": f"race{i}@example.com"}])
                results[k] = "won"
            except clients[k].exceptions.AliasExistsException:
                results[k] = "lost"
            except Exception as e:  # noqa: BLE001 - any other outcome is a failure
                results[k] = repr(e)

        threads = [threading.Thread(target=attempt, args=(k,)) for k in (0, 1)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert sorted(results) == ["lost", "won"], (i, results)
        winner = results.index("won")
        owner = idp.admin_get_user(UserPoolId=pid, Username=f"race{i}@example.com")["Username"]
        assert owner == f"racer{winner}-{i}"
