"""A shard without a leader answers with a clear 5xx within the request timeout."""
import signal
import time

import botocore
import pytest

from conftest import Front, NodeCluster


def test_a_shard_without_a_leader_is_a_clear_5xx_not_a_hang(tmp_path):
    cluster = NodeCluster(str(tmp_path))
    cluster.start_all()
    front = Front(cluster)
    try:
        idp = front.client()
        pid = idp.create_user_pool(PoolName="outage")["UserPool"]["Id"]
        cluster.kill(2, signal.SIGKILL)
        cluster.kill(3, signal.SIGKILL)
        started = time.time()
        with pytest.raises(botocore.exceptions.ClientError) as e:
            idp.describe_user_pool(UserPoolId=pid)
        took = time.time() - started
        assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] >= 500
        assert e.value.response["Error"]["Code"] == "InternalErrorException"
        # The caller learns a request id, never the cluster's insides; the log has both.
        message = e.value.response["Error"]["Message"]
        assert "Request id: " in message and "127.0.0.1" not in message and "shard" not in message, message
        request_id = message.split("Request id: ")[1]
        with open(front.log_path) as f:
            logged = [l for l in f if request_id in l]
        assert logged and "unavailable" in logged[0], logged
        assert took < 15
        # Back to a majority: served again.
        cluster.start(2)
        cluster.wait_for_leaders()
        assert idp.describe_user_pool(UserPoolId=pid)["UserPool"]["Name"] == "outage"
    finally:
        front.stop()
        cluster.stop_all()
