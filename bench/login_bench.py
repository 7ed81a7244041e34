"""Benchmark: Argon2id hash time and logins per second with the hasher in portal/settings.py.

    .venv/bin/python bench/login_bench.py [--hashes 20] [--logins 40] [--processes N]
    .venv/bin/python bench/login_bench.py --profile 40 [--database-url URL --redis-url URL]
    .venv/bin/python bench/login_bench.py --gunicorn 2 --clients 8 --duration 30 \
        [--database-url postgres://…/bench --redis-url redis://…/7]

Runs on a throw-away SQLite database in a temporary PORTAL_VAR_DIR unless --database-url names
one (a database of its own: the bench migrates it and adds its agents; never a shared one). The
default run prints

1. the time to hash and to verify one password with the configured hasher, next to Django's
   default Argon2 and PBKDF2 parameters for comparison;
2. password verifications per second on all cores (one process per core), the ceiling for
   logins on this machine;
3. full logins per second through the login view (django.test.Client: CSRF-free POST of unit,
   ID number, password and the captcha answer read from its table, django-axes, audit row,
   session), first in one process, then in one process per core.

--profile N runs N login POSTs in this process under cProfile and prints where the time of one
login goes (the hash, the captcha check, django-axes and the lock, the session, the audit row,
the database round trips, the rest) and the statements one login sends.

--gunicorn N starts gunicorn (portal.wsgi, N sync workers, 127.0.0.1) and drives it with
--clients concurrent clients for --duration seconds, each login as a browser does it: GET the
login page, GET its captcha image, POST the form with the CSRF cookie; the captcha answer is
read from its table. It prints logins per second, p50/p95/p99 of the POST and of the whole
login, the CPU seconds the gunicorn processes spent per login, and `uptime` (the machine may be
shared: the CPU per login is the figure that carries over).
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
PASSWORD = "Bench2026login"


def setup_django(var_dir: str, database_url: str = "", redis_url: str = "") -> None:
    sys.path.insert(0, str(BASE_DIR))
    os.environ["PORTAL_VAR_DIR"] = var_dir
    os.environ["DJANGO_SETTINGS_MODULE"] = "portal.settings"
    os.environ["DJANGO_DEBUG"] = "0"
    os.environ["ALLOWED_HOSTS"] = "testserver,127.0.0.1,localhost"
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    for name, value in (("DATABASE_URL", database_url), ("REDIS_URL", redis_url)):
        if value:
            os.environ[name] = value
        else:
            os.environ.pop(name, None)
    import django

    django.setup()


def timed(function, repeat: int) -> list[float]:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        function()
        times.append((time.perf_counter() - started) * 1000)
    return times


def hash_figures(repeat: int) -> None:
    from django.conf import settings
    from django.contrib.auth.hashers import (
        Argon2PasswordHasher,
        PBKDF2PasswordHasher,
        get_hasher,
    )

    configured = get_hasher()
    print(f"configured hasher: {settings.PASSWORD_HASHERS[0]}")
    for label, hasher in [
        ("configured", configured),
        ("Django default Argon2", Argon2PasswordHasher()),
        ("Django default PBKDF2", PBKDF2PasswordHasher()),
    ]:
        params = ""
        if isinstance(hasher, Argon2PasswordHasher):
            params = (
                f" (t={hasher.time_cost}, m={hasher.memory_cost // 1024} MiB,"
                f" p={hasher.parallelism})"
            )
        elif isinstance(hasher, PBKDF2PasswordHasher):
            params = f" ({hasher.iterations} iterations)"
        hasher.encode(PASSWORD, hasher.salt())  # load the library outside the timing
        encoded = hasher.encode(PASSWORD, hasher.salt())
        hash_ms = timed(lambda h=hasher: h.encode(PASSWORD, h.salt()), repeat)
        verify_ms = timed(lambda h=hasher, e=encoded: h.verify(PASSWORD, e), repeat)
        print(
            f"  {label:<22}{params}: hash median {statistics.median(hash_ms):6.1f} ms,"
            f" verify median {statistics.median(verify_ms):6.1f} ms"
        )


def _verify_many(args) -> int:
    var_dir, count = args[:2]
    setup_django(var_dir, *args[2:])
    from django.contrib.auth.hashers import get_hasher

    hasher = get_hasher()
    encoded = hasher.encode(PASSWORD, hasher.salt())
    for _ in range(count):
        hasher.verify(PASSWORD, encoded)
    return count


def parallel_verifications(var_dir: str, processes: int, per_process: int) -> None:
    with multiprocessing.get_context("spawn").Pool(processes) as pool:
        pool.map(_verify_many, [(var_dir, 1)] * processes)  # start-up outside the timing
        started = time.perf_counter()
        done = sum(pool.map(_verify_many, [(var_dir, per_process)] * processes))
        elapsed = time.perf_counter() - started
    print(
        f"password verifications on {processes} processes: {done / elapsed:.1f} per second"
        f" (the ceiling for logins)"
    )


def create_agents(count: int) -> list[tuple[str, str]]:
    """Bench agents 1..count (unit number, ID number), made once per database."""
    import datetime

    from employers.models import Agent, Employer, OpenedAccount
    from employers.services import agent_create, employer_create
    from portal.identifiers import uscc_check_char
    from portal.models import Region

    region, _ = Region.objects.get_or_create(code="110000", defaults={"name": "北京市"})
    agents = []
    for n in range(count):
        existing = Agent.objects.filter(employer__ss_number=f"1100{n + 1:07d}").first()
        if existing is not None:
            agents.append((existing.employer.ss_number, existing.id_number))
            continue
        uscc17 = f"9111010{n + 1:010d}"
        account = OpenedAccount.objects.create(
            ss_number=f"1100{n + 1:07d}",
            uscc=uscc17 + uscc_check_char(uscc17),
            name=f"压测单位{n + 1}有限公司",
            region=region,
            legal_rep_name="王压测",
            opened_on=datetime.date(2020, 1, 1),
        )
        employer = employer_create(
            account=account,
            legal_rep_id_number=_resident_id(1, n),
            contact_phone=f"1390000{n:04d}",
            bank_name="测试银行",
            bank_account="6222020200009876543",
            bank_account_name=account.name,
            status=Employer.Status.ACTIVE,
        )
        agent = agent_create(
            employer=employer,
            name="压测经办人",
            id_number=_resident_id(2, n),
            phone=f"1380000{n:04d}",
            password=PASSWORD,
            roles=["unit_admin"],
        )
        agents.append((employer.ss_number, agent.id_number))
    return agents


def _resident_id(kind: int, n: int) -> str:
    from portal.identifiers import resident_id_check_char

    first17 = f"11010519850101{(n * 2 + kind) % 1000:03d}"
    return first17 + resident_id_check_char(first17)


def _login_loop(args) -> tuple[int, list[float]]:
    var_dir, unit, id_number, count = args[:4]
    setup_django(var_dir, *args[4:])
    import re

    from captcha.models import CaptchaStore
    from django.test import Client

    key_pattern = re.compile(r'name="captcha_0" value="([0-9a-f]+)"')
    times = []
    for _ in range(count):
        client = Client()
        page = client.get("/login/").content.decode()
        key = key_pattern.search(page).group(1)
        data = {
            "unit": unit,
            "id_number": id_number,
            "password": PASSWORD,
            "captcha_0": key,
            "captcha_1": CaptchaStore.objects.get(hashkey=key).response,
        }
        started = time.perf_counter()
        response = client.post("/login/", data)
        times.append((time.perf_counter() - started) * 1000)
        if response.status_code != 302 or response["Location"] != "/dashboard/":
            raise SystemExit(f"login failed: HTTP {response.status_code}")
    return count, times


def login_figures(var_dir: str, agents, processes: int, per_process: int) -> None:
    count, times = _login_loop((var_dir, *agents[0], per_process))
    print(
        f"logins in one process: median {statistics.median(times):.1f} ms per POST /login/,"
        f" {1000 / statistics.mean(times):.1f} logins per second"
    )
    with multiprocessing.get_context("spawn").Pool(processes) as pool:
        pool.map(_verify_many, [(var_dir, 1)] * processes)
        started = time.perf_counter()
        results = pool.map(
            _login_loop, [(var_dir, *agents[i], per_process) for i in range(processes)]
        )
        elapsed = time.perf_counter() - started
    total = sum(count for count, _times in results)
    all_times = [t for _count, times in results for t in times]
    print(
        f"logins on {processes} processes: {total / elapsed:.1f} per second including the"
        f" captcha page (POST median {statistics.median(all_times):.1f} ms)"
    )


# Where the time of one login goes -------------------------------------------------------------

# (label, file name ending, function name): cumulative times taken from the profile. The parts
# overlap where one calls another (the session is saved inside login()); "rest" is what no part
# names: Django's request handling, middleware, the form, the ORM's Python side.
PROFILE_PARTS = [
    (
        "password hash (Argon2id verify)",
        "",
        "<built-in method _argon2_cffi_bindings._ffi.argon2_verify>",
    ),
    ("captcha check", "employers/accounts/forms.py", "clean"),
    ("lock expiry (LoginLock)", "employers/accounts/lockout.py", "login_lock_expire"),
    ("django-axes lockout check", "axes/handlers/proxy.py", "is_allowed"),
    ("django-axes on success", "axes/handlers/database.py", "user_logged_in"),
    ("unit and agent look-up", "employers/accounts/backends.py", "agent_resolve"),
    ("session create (cycle_key)", "django/contrib/sessions/backends/base.py", "cycle_key"),
    ("last_login update", "django/contrib/auth/models.py", "update_last_login"),
    ("audit row", "portal/audit.py", "audit_log"),
    ("session save (response)", "django/contrib/sessions/middleware.py", "process_response"),
]


def _part_time(stats, suffix: str, name: str) -> float:
    total = 0.0
    for (filename, _line, function), (_cc, _nc, _tt, cumulative, _callers) in stats.stats.items():
        if suffix:
            if filename.endswith(suffix) and function == name:
                total += cumulative
        elif function == name:  # a built-in: no file
            total += cumulative
    return total


def login_profile(agents, count: int) -> None:
    """Profile ``count`` login POSTs in this process and print where the time goes."""
    import cProfile
    import pstats
    import re

    from captcha.models import CaptchaStore
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    unit, id_number = agents[0]
    key_pattern = re.compile(r'name="captcha_0" value="([0-9a-f]+)"')

    page_cpu = [0.0, 0.0]  # the login page, its captcha image

    def prepared():
        client = Client()
        started = time.process_time()
        key = key_pattern.search(client.get("/login/").content.decode()).group(1)
        page_cpu[0] += time.process_time() - started
        started = time.process_time()
        if client.get(f"/captcha/image/{key}/").status_code != 200:
            raise SystemExit("captcha image: not found")
        page_cpu[1] += time.process_time() - started
        data = {
            "unit": unit,
            "id_number": id_number,
            "password": PASSWORD,
            "captcha_0": key,
            "captcha_1": CaptchaStore.objects.get(hashkey=key).response,
        }
        return client, data

    for _ in range(3):  # warm up: imports, connections, template caches
        client, data = prepared()
        client.post("/login/", data)
    # First without the profiler, whose own cost inflates the Python parts several times over.
    plain = 0.0
    for _ in range(count):
        client, data = prepared()
        started = time.process_time()
        client.post("/login/", data)
        plain += time.process_time() - started
    page_cpu[:] = [0.0, 0.0]
    # CPU time, not wall time: on a shared machine waiting for a core is not a cost of the login.
    profile = cProfile.Profile(time.process_time)
    backend = _database_backend_pid(connection)
    elapsed = wall = database_cpu = 0.0
    for _ in range(count):
        client, data = prepared()
        database_before = _cpu_seconds(backend, children=False) if backend else 0.0
        started, started_wall = time.process_time(), time.perf_counter()
        profile.enable()
        response = client.post("/login/", data)
        profile.disable()
        elapsed += time.process_time() - started
        wall += time.perf_counter() - started_wall
        if backend:
            database_cpu += _cpu_seconds(backend, children=False) - database_before
        if response.status_code != 302:
            raise SystemExit(f"login failed: HTTP {response.status_code}")
    client, data = prepared()
    with CaptureQueriesContext(connection) as queries:
        client.post("/login/", data)
    stats = pstats.Stats(profile)
    per_login = elapsed / count * 1000
    database = _part_time(stats, "django/db/backends/utils.py", "_execute") + _part_time(
        stats, "django/db/backends/base/base.py", "commit"
    )
    print(f"uptime: {_uptime()}")
    print(
        f"one login POST ({connection.vendor}), mean of {count} under cProfile: {per_login:.1f} ms"
        f" CPU in the web process, {wall / count * 1000:.1f} ms wall;"
        f" {len(queries.captured_queries)} statements"
    )
    plain_ms = plain / count * 1000
    print(
        f"  without the profiler: {plain_ms:.1f} ms CPU in the web process, of which the hash"
        f" {_part_time(stats, *PROFILE_PARTS[0][1:]) / count * 1000:.1f} ms (C code: the"
        f" profiler does not inflate it); the parts below are shares of the profiled time"
    )
    if backend:
        print(f"  PostgreSQL backend CPU per login: {database_cpu / count * 1000:.1f} ms")
    print(
        f"  and before it, GET /login/ {page_cpu[0] / count * 1000:.1f} ms CPU,"
        f" its captcha image {page_cpu[1] / count * 1000:.1f} ms CPU"
    )
    for label, suffix, name in PROFILE_PARTS:
        part = _part_time(stats, suffix, name) / count * 1000
        print(f"  {label:<34} {part:6.1f} ms  {part / per_login * 100:4.0f} %")
    hashing = _part_time(stats, *PROFILE_PARTS[0][1:]) / count * 1000
    print(f"  {'database calls, client side (all)':<34} {database / count * 1000:6.1f} ms")
    print(f"  {'everything but the hash':<34} {per_login - hashing:6.1f} ms")
    statements = {}
    for query in queries.captured_queries:
        verb = " ".join(query["sql"].split()[:4])[:70]
        statements[verb] = statements.get(verb, 0) + 1
    print("statements of one login:")
    for verb, times in statements.items():
        print(f"  {times} × {verb}")


# Logins against gunicorn ----------------------------------------------------------------------


def _uptime() -> str:
    with open("/proc/loadavg") as handle:
        one, five, fifteen = handle.read().split()[:3]
    return f"load average {one}, {five}, {fifteen} on {os.cpu_count()} cores"


def _database_backend_pid(connection) -> int | None:
    """The PostgreSQL server process of this connection when it runs on this machine."""
    if connection.vendor != "postgresql":
        return None
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    return pid if Path(f"/proc/{pid}/stat").exists() else None


def _cpu_seconds(pid: int, *, children: bool = True) -> float:
    """User + system CPU seconds of a process (and of its children still running)."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0.0
    pids = [pid]
    listing = Path(f"/proc/{pid}/task/{pid}/children")
    if children and listing.exists():
        pids += [int(child) for child in listing.read_text().split()]
    for one in pids:
        try:
            fields = Path(f"/proc/{one}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / ticks
    return total


class _Browser:
    """One client's cookies and a connection per request (gunicorn's sync workers close it)."""

    def __init__(self, port: int):
        self.port = port
        self.cookies: dict[str, str] = {}

    def request(self, method: str, path: str, body: str = "") -> tuple[int, dict, bytes]:
        import http.client

        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        headers = {
            "Host": "127.0.0.1",
            "Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items()),
        }
        if method == "POST":
            headers["Content-Type"] = "application/x-www-form-urlencoded"
            headers["Referer"] = f"http://127.0.0.1:{self.port}/login/"
        try:
            connection.request(method, path, body=body, headers=headers)
            response = connection.getresponse()
            data = response.read()
            for header, value in response.getheaders():
                if header.lower() == "set-cookie":
                    name, _, rest = value.partition("=")
                    self.cookies[name.strip()] = rest.split(";", 1)[0]
            return response.status, dict(response.getheaders()), data
        finally:
            connection.close()


def _gunicorn_login(port: int, unit: str, id_number: str) -> tuple[float, float]:
    """One login as a browser does it; return (POST ms, whole login ms)."""
    import re
    from urllib.parse import urlencode

    from captcha.models import CaptchaStore

    browser = _Browser(port)
    started = time.perf_counter()
    status, _headers, page = browser.request("GET", "/login/")
    if status != 200:
        raise RuntimeError(f"GET /login/: HTTP {status}")
    text = page.decode()
    key = re.search(r'name="captcha_0" value="([0-9a-f]+)"', text).group(1)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', text).group(1)
    status, _headers, _image = browser.request("GET", f"/captcha/image/{key}/")
    if status != 200:
        raise RuntimeError(f"GET captcha image: HTTP {status}")
    answer = CaptchaStore.objects.get(hashkey=key).response
    body = urlencode(
        {
            "csrfmiddlewaretoken": token,
            "unit": unit,
            "id_number": id_number,
            "password": PASSWORD,
            "captcha_0": key,
            "captcha_1": answer,
        }
    )
    posted = time.perf_counter()
    status, headers, _page = browser.request("POST", "/login/", body)
    done = time.perf_counter()
    if status != 302 or headers.get("Location") != "/dashboard/":
        raise RuntimeError(f"POST /login/: HTTP {status} {headers.get('Location', '')}")
    return (done - posted) * 1000, (done - started) * 1000


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(share * (len(ordered) - 1))))]


def gunicorn_figures(
    var_dir: str, agents, *, workers: int, clients: int, duration: float, env
) -> dict:
    """Drive gunicorn with ``clients`` concurrent logins for ``duration`` seconds."""
    import socket
    import subprocess
    import threading

    from django.db import connections

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    command = [
        sys.executable,
        "-m",
        "gunicorn",
        "portal.wsgi",
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        str(workers),
        "--worker-class",
        "sync",
        "--timeout",
        "120",
        "--log-level",
        "warning",
    ]
    server = subprocess.Popen(command, cwd=BASE_DIR, env=env)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if _Browser(port).request("GET", "/login/")[0] == 200:
                    break
            except OSError:
                time.sleep(0.3)
        else:
            raise SystemExit("gunicorn did not answer within 60 s")
        for unit, id_number in agents[:workers]:  # warm every worker up
            _gunicorn_login(port, unit, id_number)
        results: list[tuple[float, float]] = []
        errors: list[str] = []
        lock = threading.Lock()
        stop = time.monotonic() + duration

        def client(index: int) -> None:
            unit, id_number = agents[index % len(agents)]
            while time.monotonic() < stop:
                try:
                    figures = _gunicorn_login(port, unit, id_number)
                except Exception as exc:  # noqa: BLE001 — counted and shown
                    with lock:
                        errors.append(str(exc)[:120])
                    continue
                with lock:
                    results.append(figures)
            connections.close_all()

        cpu_before = _cpu_seconds(server.pid)
        started = time.monotonic()
        threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        elapsed = time.monotonic() - started
        cpu = _cpu_seconds(server.pid) - cpu_before
    finally:
        server.terminate()
        server.wait(timeout=30)
    posts = [post for post, _whole in results]
    wholes = [whole for _post, whole in results]
    figures = {
        "workers": workers,
        "clients": clients,
        "logins": len(results),
        "errors": len(errors),
        "rate": len(results) / elapsed,
        "post_p50": _percentile(posts, 0.5) if posts else 0,
        "post_p95": _percentile(posts, 0.95) if posts else 0,
        "post_p99": _percentile(posts, 0.99) if posts else 0,
        "whole_p95": _percentile(wholes, 0.95) if wholes else 0,
        "cpu_ms": cpu / max(len(results), 1) * 1000,
        "uptime": _uptime(),
    }
    print(
        f"gunicorn {workers} workers, {clients} clients, {elapsed:.0f} s: "
        f"{figures['rate']:.1f} logins/s, {len(errors)} errors; POST p50 {figures['post_p50']:.0f}"
        f" p95 {figures['post_p95']:.0f} p99 {figures['post_p99']:.0f} ms; whole login (page,"
        f" image, POST) p95 {figures['whole_p95']:.0f} ms; gunicorn CPU {figures['cpu_ms']:.0f} ms"
        f" per login; {figures['uptime']}"
    )
    if errors:
        print(f"  first error: {errors[0]}")
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hashes", type=int, default=20)
    parser.add_argument("--logins", type=int, default=40)
    parser.add_argument("--processes", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--profile", type=int, default=0, metavar="N")
    parser.add_argument("--gunicorn", type=int, default=0, metavar="WORKERS")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--duration", type=float, default=30.0)
    parser.add_argument("--database-url", default="")
    parser.add_argument("--redis-url", default="")
    options = parser.parse_args()
    if options.database_url and not (options.profile or options.gunicorn):
        parser.error("--database-url goes with --profile or --gunicorn")

    var_dir = tempfile.mkdtemp(prefix="login_bench_")
    setup_django(var_dir, options.database_url, options.redis_url)
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)
    call_command("createcachetable", verbosity=0)
    from django.db import connection

    print(f"machine: {os.cpu_count()} cores; database: {connection.vendor}; uptime: {_uptime()}")
    if options.profile:
        login_profile(create_agents(1), options.profile)
        return
    if options.gunicorn:
        agents = create_agents(max(options.clients, options.gunicorn))
        gunicorn_figures(
            var_dir,
            agents,
            workers=options.gunicorn,
            clients=options.clients,
            duration=options.duration,
            env=dict(os.environ),
        )
        return
    hash_figures(options.hashes)
    parallel_verifications(var_dir, options.processes, options.hashes)
    agents = create_agents(options.processes)
    login_figures(var_dir, agents, options.processes, options.logins)


if __name__ == "__main__":
    main()
