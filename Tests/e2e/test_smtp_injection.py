"""The SMTP command injection of issue 29, end to end: a cluster whose mail goes to a raw
SMTP server that logs every line it receives; SignUp (public, unauthenticated) with an
email carrying CR LF, NEL or NUL is refused, and the only commands the server ever sees
are the deliverer's own, for a well-formed address."""
import socketserver
import threading
import time

import pytest

from conftest import Front, NodeCluster, free_ports


class RawSMTP(socketserver.ThreadingTCPServer):
    """Answers like a permissive mail server and logs each command line as received."""
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, port):
        self.lines, self.data = [], []
        self.lock = threading.Lock()
        super().__init__(("127.0.0.1", port), RawSMTPHandler)


class RawSMTPHandler(socketserver.StreamRequestHandler):
    def handle(self):
        server = self.server
        self.wfile.write(b"220 raw ESMTP\r\n")
        in_data = False
        while True:
            line = self.rfile.readline(65536)
            if not line:
                return
            text = line.decode("latin-1")
            with server.lock:
                (server.data if in_data else server.lines).append(text)
            if in_data:
                if text == ".\r\n":
                    in_data = False
                    self.wfile.write(b"250 queued\r\n")
                continue
            verb = text[:4].upper()
            if verb in ("EHLO", "HELO"):
                self.wfile.write(b"250-raw\r\n250 8BITMIME\r\n")
            elif verb == "DATA":
                in_data = True
                self.wfile.write(b"354 go on\r\n")
            elif verb == "QUIT":
                self.wfile.write(b"221 bye\r\n")
                return
            else:
                self.wfile.write(b"250 ok\r\n")


@pytest.fixture(scope="module")
def raw_cluster(tmp_path_factory):
    port = free_ports(1)[0]
    smtp = RawSMTP(port)
    threading.Thread(target=smtp.serve_forever, daemon=True).start()
    directory = str(tmp_path_factory.mktemp("smtp-injection"))
    cluster = NodeCluster(directory, kv_harness=False,
                          extra=["[email]", f'smtp_url = "smtp://127.0.0.1:{port}"', 'from = "no-reply@cognate.test"'])
    cluster.start_all()
    front = Front(cluster)
    yield front, smtp
    front.stop()
    cluster.stop_all()
    smtp.shutdown()


def test_signup_with_control_characters_in_the_email_reaches_no_smtp_command_line(raw_cluster):
    front, smtp = raw_cluster
    c = front.client()
    pool = c.create_user_pool(PoolName="inject", AutoVerifiedAttributes=["email"])["UserPool"]["Id"]
    client = c.create_user_pool_client(UserPoolId=pool, ClientName="app")["UserPoolClient"]["ClientId"]
    hostile = ["m@example.com\r\nRSET\r\nNOOP", "m@example.com\nRSET", "m@example.com\rRSET",
               "m@example.com\u0085RSET", "m@exa\u0000mple.com"]
    for i, email in enumerate(hostile):
        with pytest.raises(c.exceptions.InvalidParameterException):
            c.sign_up(ClientId=client, Username=f"hostile{i}", Password="Passw0rd!x",
                      UserAttributes=[{"Name": "email", "Value": email}])
        with pytest.raises(c.exceptions.InvalidParameterException):
            c.admin_create_user(UserPoolId=pool, Username=f"admin{i}", DesiredDeliveryMediums=["EMAIL"],
                                UserAttributes=[{"Name": "email", "Value": email}])
    # A well-formed sign-up is delivered: the server then holds the only session it saw.
    answer = c.sign_up(ClientId=client, Username="fine", Password="Passw0rd!x",
                       UserAttributes=[{"Name": "email", "Value": "fine@example.com"}])
    assert answer["CodeDeliveryDetails"]["DeliveryMedium"] == "EMAIL"
    deadline = time.time() + 60
    while True:
        with smtp.lock:
            lines, data = list(smtp.lines), list(smtp.data)
        if ".\r\n" in data:
            break
        assert time.time() < deadline, f"no message delivered; server saw {lines}"
        time.sleep(0.1)
    verbs = [line.split(" ")[0].split(":")[0].strip().upper() for line in lines]
    print("raw SMTP server's command lines:", [line.rstrip() for line in lines])
    assert "RSET" not in verbs and "NOOP" not in verbs, lines
    assert set(verbs) <= {"EHLO", "MAIL", "RCPT", "DATA", "QUIT"}, lines
    assert [line for line in lines if line.startswith("RCPT")] == ["RCPT TO:<fine@example.com>\r\n"], lines
    # Every line ends in CR LF and holds no other control character (headers included).
    for line in lines + data:
        assert line.endswith("\r\n") and not any(ord(ch) < 32 or 0x7F <= ord(ch) < 0xA0 for ch in line[:-2]), line
