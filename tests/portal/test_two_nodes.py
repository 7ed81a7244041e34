"""Web nodes hold no state: two gunicorn processes on the same PostgreSQL (or SQLite file) and
Redis, reached through a round-robin proxy or each directly, share sessions, captcha challenges,
the lockout and the per-address login throttle. Without Redis the tests are skipped, except
under CI where they fail."""

from __future__ import annotations

import http.client
import itertools
import re
import socket
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlencode

import pytest
from captcha.models import CaptchaStore

from employers.models import Role
from portal.hashers import PortalArgon2PasswordHasher
from tests.factories import create_agent
from tests.portal.test_worker import redis_url, worker_env  # noqa: F401 — fixture and helper

pytestmark = [pytest.mark.redis, pytest.mark.django_db(transaction=True)]

BASE_DIR = Path(__file__).resolve().parents[2]
PASSWORD = "Nodes2026pass"
LOCKED = "该账号已被暂时锁定"
THROTTLED = "登录尝试过于频繁"
BAD = "单位编号、身份证号或密码不正确"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Node:
    """One gunicorn process (one sync worker) of the portal."""

    def __init__(self, name: str, env: dict, log: Path):
        self.name = name
        self.port = _free_port()
        self._log = open(log, "wb")  # closed in stop()
        self.log = log
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "portal.wsgi",
                "--bind",
                f"127.0.0.1:{self.port}",
                "--workers",
                "1",
                "--timeout",
                "120",
            ],
            cwd=BASE_DIR,
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )

    def wait_ready(self, deadline: float) -> None:
        while True:
            if self.process.poll() is not None:
                pytest.fail(f"node {self.name} exited:\n{self.log.read_text(errors='replace')}")
            try:
                connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
                connection.request("GET", "/healthz", headers={"Host": "127.0.0.1"})
                connection.getresponse().read()
                connection.close()
                return
            except OSError:
                if time.monotonic() > deadline:
                    pytest.fail(f"node {self.name} did not answer")
                time.sleep(0.3)

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)
        self._log.close()


class RoundRobinProxy:
    """A tiny reverse proxy in front of the nodes: each request to the next node in turn, no
    stickiness; it adds X-Forwarded-For as nginx does and says which node answered."""

    def __init__(self, nodes: list[Node]):
        turn = itertools.cycle(nodes)
        lock = threading.Lock()

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _forward(self):
                with lock:
                    node = next(turn)
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                headers = {k: v for k, v in self.headers.items() if k.lower() != "connection"}
                forwarded = headers.get("X-Forwarded-For")
                client = self.client_address[0]
                headers["X-Forwarded-For"] = f"{forwarded}, {client}" if forwarded else client
                upstream = http.client.HTTPConnection("127.0.0.1", node.port, timeout=60)
                upstream.request(self.command, self.path, body=body or None, headers=headers)
                response = upstream.getresponse()
                data = response.read()
                self.send_response(response.status)
                for name, value in response.getheaders():
                    if name.lower() not in ("connection", "transfer-encoding", "content-length"):
                        self.send_header(name, value)
                self.send_header("Content-Length", str(len(data)))
                self.send_header("X-Portal-Node", node.name)
                self.end_headers()
                self.wfile.write(data)
                upstream.close()

            do_GET = do_POST = _forward

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class Browser:
    """Cookies and plain HTTP requests to one port; ``client`` is the address a proxy in front
    of the nodes would report (X-Forwarded-For)."""

    def __init__(self, client: str = ""):
        self.cookies: dict[str, str] = {}
        self.client = client

    def request(self, port: int, method: str, path: str, data: dict | None = None):
        headers = {
            "Host": "127.0.0.1",
            "Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items()),
        }
        if self.client:
            headers["X-Forwarded-For"] = self.client
        body = None
        if data is not None:
            body = urlencode(data)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        connection.request(method, path, body=body, headers=headers)
        response = connection.getresponse()
        content = response.read().decode("utf-8", errors="replace")
        for name, value in response.getheaders():
            if name.lower() == "set-cookie":
                key, _, rest = value.partition("=")
                self.cookies[key.strip()] = rest.split(";", 1)[0]
        connection.close()
        return response.status, dict(response.getheaders()), content

    def login_form(self, port: int) -> dict:
        status, _headers, page = self.request(port, "GET", "/login/")
        assert status == 200
        key = re.search(r'name="captcha_0" value="([0-9a-f]+)"', page).group(1)
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
        return {"csrfmiddlewaretoken": token, "captcha_0": key}


def answer(key: str) -> str:
    return CaptchaStore.objects.get(hashkey=key).response


@pytest.fixture(scope="module")
def nodes(django_db_setup, redis_url, tmp_path_factory):  # noqa: F811
    env = worker_env(redis_url)
    env.update(
        DJANGO_DEBUG="0",
        ALLOWED_HOSTS="127.0.0.1",
        TRUSTED_PROXY_COUNT="1",
        CAPTCHA_ECHO="0",
        LOG_LEVEL="WARNING",
    )
    logs = tmp_path_factory.mktemp("nodes")
    started = [Node("A", env, logs / "a.log"), Node("B", env, logs / "b.log")]
    try:
        deadline = time.monotonic() + 180
        for node in started:
            node.wait_ready(deadline)
        yield started
    finally:
        for node in started:
            node.stop()


@pytest.fixture
def agent():
    agent = create_agent(roles=[Role.UNIT_ADMIN])
    # The nodes hash with the production hasher, not the tests' fast one.
    hasher = PortalArgon2PasswordHasher()
    agent.user.password = hasher.encode(PASSWORD, hasher.salt())
    agent.user.save(update_fields=["password"])
    return agent


def credentials(agent, form: dict, password: str = PASSWORD, captcha: str | None = None) -> dict:
    return {
        **form,
        "unit": agent.employer.ss_number,
        "id_number": agent.id_number,
        "password": password,
        "captcha_1": answer(form["captcha_0"]) if captcha is None else captcha,
    }


def test_through_a_round_robin_proxy_a_login_and_its_session_work_on_either_node(nodes, agent):
    proxy = RoundRobinProxy(nodes)
    try:
        browser = Browser()
        form = browser.login_form(proxy.port)  # the captcha from one node …
        status, headers, _page = browser.request(
            proxy.port, "POST", "/login/", credentials(agent, form)
        )
        assert status == 302 and headers["Location"] == "/dashboard/"  # … accepted by the other
        served = set()
        for _ in range(4):
            status, headers, page = browser.request(proxy.port, "GET", "/dashboard/")
            assert status == 200 and agent.employer.name in page
            served.add(headers["X-Portal-Node"])
        assert served == {"A", "B"}
    finally:
        proxy.stop()


def test_a_captcha_from_node_a_is_accepted_by_node_b_once(nodes, agent):
    a, b = nodes
    browser = Browser(client="10.20.0.1")
    form = browser.login_form(a.port)
    used = credentials(agent, form)
    status, headers, _page = browser.request(b.port, "POST", "/login/", used)
    assert status == 302 and headers["Location"] == "/dashboard/"
    for node in nodes:  # the session is valid on both
        status, _headers, page = browser.request(node.port, "GET", "/dashboard/")
        assert status == 200 and agent.employer.name in page
    # The challenge died at its first use, on every node: the same key and answer fail on A.
    replay = Browser(client="10.20.0.2")
    token = replay.login_form(a.port)["csrfmiddlewaretoken"]
    status, _headers, page = replay.request(
        a.port, "POST", "/login/", {**used, "csrfmiddlewaretoken": token}
    )
    assert status == 200 and "图片验证码不正确或已过期" in page
    # Logging out on one node ends the session on the other.
    status, _headers, _page = browser.request(
        b.port, "POST", "/logout/", {"csrfmiddlewaretoken": browser.cookies["csrftoken"]}
    )
    assert status == 302
    status, headers, _page = browser.request(a.port, "GET", "/dashboard/")
    assert status == 302 and headers["Location"].startswith("/login/")


def test_password_failures_on_both_nodes_count_towards_one_lock(nodes, agent):
    browser = Browser(client="10.20.1.1")
    for attempt in range(5):
        node = nodes[attempt % 2]
        form = browser.login_form(node.port)
        status, _headers, page = browser.request(
            node.port, "POST", "/login/", credentials(agent, form, password="Wrong2026pass")
        )
        assert status == 200
        assert (LOCKED if attempt == 4 else BAD) in page, (attempt, node.name)
    for node in nodes:  # the right password is refused on either node now
        form = browser.login_form(node.port)
        status, _headers, page = browser.request(
            node.port, "POST", "/login/", credentials(agent, form)
        )
        assert status == 200 and LOCKED in page


def test_the_per_address_login_throttle_is_shared_by_the_nodes(nodes, agent):
    browser = Browser(client="10.20.2.1")
    for attempt in range(20):  # wrong captchas: failures of this address, no password checked
        node = nodes[attempt % 2]
        form = browser.login_form(node.port)
        status, _headers, page = browser.request(
            node.port, "POST", "/login/", credentials(agent, form, captcha="ZZZZ")
        )
        assert status == 200 and THROTTLED not in page, attempt
    for node in nodes:
        form = browser.login_form(node.port)
        status, _headers, page = browser.request(
            node.port, "POST", "/login/", credentials(agent, form)
        )
        assert status == 200 and THROTTLED in page, node.name
    # Another address behind the same proxy is not affected.
    other = Browser(client="10.20.2.2")
    form = other.login_form(nodes[1].port)
    status, headers, _page = other.request(
        nodes[1].port, "POST", "/login/", credentials(agent, form)
    )
    assert status == 302 and headers["Location"] == "/dashboard/"
