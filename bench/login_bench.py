"""Benchmark: Argon2id hash time and logins per second with the hasher in portal/settings.py.

    .venv/bin/python bench/login_bench.py [--hashes 20] [--logins 40] [--processes N]

Runs on a throw-away SQLite database in a temporary PORTAL_VAR_DIR (never the shared PostgreSQL
or var/): the cost of a login is the password hash, not the database. It prints

1. the time to hash and to verify one password with the configured hasher, next to Django's
   default Argon2 and PBKDF2 parameters for comparison;
2. password verifications per second on all cores (one process per core), the ceiling for
   logins on this machine;
3. full logins per second through the login view (django.test.Client: CSRF-free POST of unit,
   ID number, password and the captcha answer read from its table, django-axes, audit row,
   session), first in one process, then in one process per core.
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


def setup_django(var_dir: str) -> None:
    sys.path.insert(0, str(BASE_DIR))
    os.environ["PORTAL_VAR_DIR"] = var_dir
    os.environ["DJANGO_SETTINGS_MODULE"] = "portal.settings"
    os.environ["DJANGO_DEBUG"] = "0"
    os.environ["ALLOWED_HOSTS"] = "testserver"
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    for name in ("DATABASE_URL", "REDIS_URL"):
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
    var_dir, count = args
    setup_django(var_dir)
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
    import datetime

    from employers.models import Employer, OpenedAccount
    from employers.services import agent_create, employer_create
    from portal.identifiers import uscc_check_char
    from portal.models import Region

    region, _ = Region.objects.get_or_create(code="110000", defaults={"name": "北京市"})
    agents = []
    for n in range(count):
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
    var_dir, unit, id_number, count = args
    setup_django(var_dir)
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hashes", type=int, default=20)
    parser.add_argument("--logins", type=int, default=40)
    parser.add_argument("--processes", type=int, default=os.cpu_count() or 2)
    options = parser.parse_args()

    var_dir = tempfile.mkdtemp(prefix="login_bench_")
    setup_django(var_dir)
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)
    call_command("createcachetable", verbosity=0)
    print(f"machine: {os.cpu_count()} cores; database: SQLite in {var_dir}")

    hash_figures(options.hashes)
    parallel_verifications(var_dir, options.processes, options.hashes)
    agents = create_agents(options.processes)
    login_figures(var_dir, agents, options.processes, options.logins)


if __name__ == "__main__":
    main()
