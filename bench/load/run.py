"""The month-end load benchmark: the whole stack on this machine, one command.

    .venv/bin/python bench/load/run.py [--workers 4] [--steps 1,2,4,8,16] [--step-seconds 20]
    .venv/bin/python bench/load/run.py --smoke          # tiny seed, short ramp, fails on errors

See bench/load/README.md. It seeds (or reuses) a PostgreSQL database of its own, starts gunicorn
(--workers) with bench.load.settings and a Celery worker against Redis, runs bench/load/client.py
as a separate process for the month-end mix and for the reference view, prints the tables, and
stops the processes it started.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit

HERE = Path(__file__).resolve().parent
BASE_DIR = HERE.parent.parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

TARGET_P95_MS = 150.0
SESSION_BACKEND = "employers.accounts.backends.AgentPasswordBackend"
QUEUES = "default,reviews,imports,notifications"


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--smoke", action="store_true", help="tiny, short; fails on errors")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn worker processes")
    parser.add_argument("--celery-concurrency", type=int, default=1)
    parser.add_argument("--steps", default="1,2,4,8,16", help="concurrent users per step")
    parser.add_argument("--step-seconds", type=float, default=20.0)
    parser.add_argument(
        "--rounds",
        type=int,
        default=1,
        help="run the ramp this many times, mix and reference taking turns; the ratio is the "
        "median of the rounds' ratios",
    )
    parser.add_argument("--warmup-seconds", type=float, default=3.0)
    parser.add_argument("--units", type=int, default=200)
    parser.add_argument("--per-unit", type=int, default=500)
    parser.add_argument("--big", type=int, default=10_000, help="persons of the one big unit")
    parser.add_argument("--months", type=int, default=3)
    parser.add_argument("--agents", type=int, default=16, help="agents with sessions")
    parser.add_argument("--database", default="load_bench", help="PostgreSQL database name")
    parser.add_argument("--pg", default="postgres://postgres@127.0.0.1:5432", help="server URL")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/6")
    parser.add_argument("--port", type=int, default=8616)
    parser.add_argument("--reseed", action="store_true", help="drop and seed the database again")
    parser.add_argument("--timeout", type=float, default=60.0, help="client timeout per request")
    parser.add_argument(
        "--cpu-by-page",
        action="store_true",
        help="add up each page's CPU time in the gunicorn workers and print it (bench/load/cpu.py)",
    )
    args = parser.parse_args(argv)
    if args.smoke:
        args.workers = min(args.workers, 2)
        args.steps = "1,2"
        args.step_seconds = 4.0
        args.warmup_seconds = 0.0
        args.units, args.per_unit, args.big, args.agents = 4, 30, 300, 3
        if args.database == "load_bench":
            args.database = "load_smoke"
        if args.port == 8616:
            args.port = 8617
    args.steps = [int(step) for step in args.steps.split(",") if step.strip()]
    if args.rounds < 1:
        parser.error("--rounds must be at least 1")
    return args


def uptime() -> str:
    try:
        return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    except OSError:
        return "load average: " + ", ".join(f"{x:.2f}" for x in os.getloadavg())


# The database ------------------------------------------------------------------------------------


def database_exists(server: str, name: str) -> bool:
    import psycopg

    with psycopg.connect(f"{server}/postgres", autocommit=True) as conn:
        return conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()


def seed_wanted(args) -> dict:
    return {
        "units": args.units,
        "per_unit": args.per_unit,
        "big": args.big,
        "months": args.months,
    }


def prepare_database(args, url: str) -> dict:
    """Reuse the seeded database when it holds this seed; otherwise drop, migrate and seed."""
    from benchdb import recreate_database

    reuse = not args.reseed and database_exists(args.pg, args.database)
    if not reuse:
        recreate_database(url)
        print(f"database {args.database} created")
    from benchdb import django_setup

    django_setup(url)  # migrate: a reused database gets new migrations too
    import seed

    existing = seed.meta_get("seed")
    wanted = seed_wanted(args)
    if existing and all(existing.get(key) == value for key, value in wanted.items()):
        if len(existing["agents"]) >= min(args.agents, args.units + 1):
            print(f"reusing the seeded database {args.database}")
            return existing
    if existing:
        sys.exit(
            f"database {args.database} holds another seed ({existing}); use --reseed or "
            "another --database"
        )
    print(
        f"seeding {args.units} units × {args.per_unit} persons + one of {args.big:,}, "
        f"{args.months} months of bills, {args.agents} agents (COPY)"
    )
    return seed.seed_province(
        units=args.units,
        per_unit=args.per_unit,
        big=args.big,
        months=args.months,
        agents=args.agents,
    )


def new_documents(count: int) -> list[str]:
    """Resident ID numbers nobody has yet (area 110108, born 1985-1999), for add-employee POSTs;
    the serial is kept in the database so that every run takes new ones."""
    import seed

    from portal.identifiers import resident_id_check_char

    serial = seed.meta_get("add_serial") or 0
    numbers = []
    for index in range(serial, serial + count):
        birth = datetime.date(1985, 1, 1) + datetime.timedelta(days=index % 5400)
        first17 = f"110108{birth:%Y%m%d}{index // 5400 % 1000:03d}"
        numbers.append(first17 + resident_id_check_char(first17))
    seed.meta_set("add_serial", serial + count)
    return numbers


def make_plan(args, description: dict, workdir: Path) -> dict:
    """Sessions for the agents and each agent's pages."""
    import seed
    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore
    from django.urls import reverse
    from django.utils import timezone

    from contributions.models import MonthlyBill
    from employers.accounts.services import SESSION_LAST_SEEN, SESSION_STARTED
    from employers.models import Agent
    from enrollment.models import EmploymentForm
    from tests.enrollment.add_helpers import jpg_bytes, pdf_bytes

    months = seed.bill_months(args.months)
    first, last = f"{months[0]:%Y-%m}", f"{months[-1]:%Y-%m}"
    agents = []
    now = int(time.time())
    for agent in Agent.objects.filter(pk__in=description["agents"][: args.agents]).select_related(
        "user"
    ):
        session = SessionStore()
        session[SESSION_KEY] = str(agent.user.pk)
        session[BACKEND_SESSION_KEY] = SESSION_BACKEND
        session[HASH_SESSION_KEY] = agent.user.get_session_auth_hash()
        session[SESSION_STARTED] = now
        session[SESSION_LAST_SEEN] = now
        session.create()
        persons = args.big if agent.employer_id == description["big_unit"] else args.per_unit
        bill = (
            MonthlyBill.objects.filter(employer_id=agent.employer_id)
            .order_by("-month", "-pk")
            .first()
        )
        roster = reverse("enrollment:roster")
        agents.append(
            {
                "cookie_name": settings.SESSION_COOKIE_NAME,
                "session_key": session.session_key,
                "unit": agent.employer_id,
                "big": agent.employer_id == description["big_unit"],
                "urls": {
                    "dashboard": reverse("dashboard"),
                    "roster": roster,
                    "roster_page_n": f"{roster}?page={max(1, persons // 100)}",
                    "add": reverse("enrollment:add"),
                    "bills": reverse("contributions:bill_list"),
                    "bill_detail": reverse(
                        "contributions:bill_detail", kwargs={"bill_reference": bill.reference}
                    ),
                    "records": f"{reverse('contributions:record_list')}?month_from={first}"
                    f"&month_to={last}",
                    "proof_issue": reverse("contributions:proof_issue"),
                    "export": reverse("enrollment:roster_csv"),
                    "reference": reverse("bench_reference", urlconf="bench.load.urls"),
                },
            }
        )
    (workdir / "contract.pdf").write_bytes(pdf_bytes())
    (workdir / "scan.jpg").write_bytes(jpg_bytes())
    today = timezone.localdate()
    total_seconds = args.rounds * len(args.steps) * (args.step_seconds + args.warmup_seconds)
    return {
        "base_url": f"http://127.0.0.1:{args.port}",
        "timeout": args.timeout,
        "agents": agents,
        "steps": args.steps,
        "step_seconds": args.step_seconds,
        "warmup_seconds": args.warmup_seconds,
        "rounds": args.rounds,
        "targets": ["mix", "reference"],
        "seed": int(time.time()),
        # At most one add-employee POST per 50 ms per user is far more than the mix sends.
        "new_documents": new_documents(int(total_seconds * max(args.steps) * 2) + 100),
        "attachments": {"pdf": str(workdir / "contract.pdf"), "jpg": str(workdir / "scan.jpg")},
        "add_form": {
            "document_type": "resident_id",
            "sex": "",
            "birth_date": "",
            "nationality": "中国",
            "hukou_type": "local_urban",
            "phone": "",
            "employment_form": str(EmploymentForm.objects.get(region=None, code="11").pk),
            "insurance_codes": ["110", "210", "310", "410"],
            "start_month": f"{today:%Y-%m}",
            "employment_start": f"{today:%Y-%m-%d}",
            "contribution_base": "9000",
        },
        "proof_form": {"kind": "unit", "month_from": first, "month_to": last, "person_query": ""},
    }


# The stack ---------------------------------------------------------------------------------------


def stack_env(args, url: str, var_dir: Path) -> dict:
    env = dict(os.environ)
    env.update(
        DJANGO_SETTINGS_MODULE="bench.load.settings",
        DATABASE_URL=url,
        REDIS_URL=args.redis,
        CELERY_TASK_ALWAYS_EAGER="0",
        DJANGO_DEBUG="0",
        ALLOWED_HOSTS="127.0.0.1,localhost",
        PORTAL_VAR_DIR=str(var_dir),
        LOG_LEVEL="WARNING",
        PYTHONPATH=str(BASE_DIR),
    )
    env.pop("DJANGO_ENV", None)
    env.pop("BENCH_CPU_DIR", None)
    if getattr(args, "cpu_by_page", False):
        (var_dir / "cpu").mkdir(exist_ok=True)
        env["BENCH_CPU_DIR"] = str(var_dir / "cpu")
    return env


def start(command: list[str], env: dict, log: Path) -> subprocess.Popen:
    handle = log.open("wb")
    # A session of its own, so that stopping it stops its children (gunicorn's workers).
    return subprocess.Popen(
        command,
        cwd=BASE_DIR,
        env=env,
        stdout=handle,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def stop(process: subprocess.Popen, name: str) -> None:
    if process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        print(f"{name} did not stop in 20 s: killing it")
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def wait_ready(port: int, processes: dict, timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for name, process in processes.items():
            if process.poll() is not None:
                sys.exit(f"{name} exited with {process.returncode} before the run")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.5)
    sys.exit(f"gunicorn did not answer /healthz within {timeout:.0f} s")


# The report --------------------------------------------------------------------------------------


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    index = max(0, min(len(ordered) - 1, round(fraction * len(ordered) + 0.5) - 1))
    return ordered[index]


def step_summary(result: dict) -> dict:
    every = [ms for samples in result["samples"].values() for ms in samples]
    errors = sum(result["errors"].values())
    if not every:
        return {"rps": 0.0, "p50": 0.0, "p95": 0.0, "p99": 0.0, "errors": errors, "n": 0}
    return {
        "rps": len(every) / result["seconds"],
        "p50": percentile(every, 0.50),
        "p95": percentile(every, 0.95),
        "p99": percentile(every, 0.99),
        "errors": errors,
        "n": len(every),
    }


def capacity(results: list[dict], target: str, round_number: int | None = None) -> float:
    """The highest throughput of a step with p95 under the target and no errors (0 if none),
    over every round or over one."""
    best = 0.0
    for result in results:
        if result["target"] != target:
            continue
        if round_number is not None and result.get("round", 1) != round_number:
            continue
        summary = step_summary(result)
        if summary["errors"] == 0 and summary["p95"] < TARGET_P95_MS and summary["n"]:
            best = max(best, summary["rps"])
    return best


def round_numbers(results: list[dict]) -> list[int]:
    return sorted({result.get("round", 1) for result in results})


def median(values: list[float]) -> float:
    ordered = sorted(values)
    middle = len(ordered) // 2
    if len(ordered) % 2:
        return ordered[middle]
    return (ordered[middle - 1] + ordered[middle]) / 2


def round_ratios(results: list[dict]) -> list[tuple[int, float, float, float | None]]:
    """Each round's (round, mix capacity, reference capacity, ratio or None)."""
    rows = []
    for number in round_numbers(results):
        mix, reference = capacity(results, "mix", number), capacity(results, "reference", number)
        rows.append((number, mix, reference, mix / reference if reference else None))
    return rows


def merged_mix_steps(results: list[dict]) -> list[dict]:
    """The mix's steps with the same number of users merged over the rounds, in ramp order."""
    merged: dict[int, dict] = {}
    for result in results:
        if result["target"] != "mix":
            continue
        step = merged.setdefault(
            result["users"], {"users": result["users"], "seconds": 0.0, "samples": {}, "errors": {}}
        )
        step["seconds"] += result["seconds"]
        for name, samples in result["samples"].items():
            step["samples"].setdefault(name, []).extend(samples)
        for name, count in result["errors"].items():
            step["errors"][name] = step["errors"].get(name, 0) + count
    return list(merged.values())


def capacity_lines(results: list[dict]) -> list[str]:
    rule = f"highest req/s of a step with p95 < {TARGET_P95_MS:.0f} ms and no errors"
    rows = round_ratios(results)
    if len(rows) == 1:
        _number, mix, reference, ratio = rows[0]
        shown = f"{ratio:.2f}" if ratio is not None else "n/a (the reference has no capacity)"
        return [
            f"capacity ({rule}): mix {mix:.1f} req/s, reference {reference:.1f} req/s; "
            f"capacity(mix)/capacity(reference) = {shown}"
        ]
    lines = [f"capacity per round ({rule}):"]
    for number, mix, reference, ratio in rows:
        shown = f"{ratio:.2f}" if ratio is not None else "n/a"
        lines.append(
            f"  round {number}: mix {mix:.1f} req/s, reference {reference:.1f} req/s, ratio {shown}"
        )
    ratios = [ratio for *_rest, ratio in rows if ratio is not None]
    if ratios:
        lines.append(
            f"capacity(mix)/capacity(reference) = {median(ratios):.2f} (median of {len(ratios)} "
            f"rounds; lowest {min(ratios):.2f}, highest {max(ratios):.2f})"
        )
    else:
        lines.append("capacity(mix)/capacity(reference) = n/a (the reference has no capacity)")
    return lines


def report(results: list[dict], args, header: str) -> str:
    lines = [header, ""]
    several = len(round_numbers(results)) > 1
    lines.append(
        ("round " if several else "")
        + f"{'target':<9} {'users':>5} {'req/s':>7} {'p50 ms':>7} {'p95 ms':>7} {'p99 ms':>7} "
        f"{'errors':>6}  load averages (1, 5, 15 min)"
    )
    in_order = sorted(
        results, key=lambda r: (r.get("round", 1), r["target"] != "mix", r["target"], r["users"])
    )
    for result in in_order:
        s = step_summary(result)
        load = ", ".join(f"{x:.2f}" for x in result["loadavg"])
        lines.append(
            (f"{result.get('round', 1):5d} " if several else "")
            + f"{result['target']:<9} {result['users']:5d} {s['rps']:7.1f} {s['p50']:7.1f} "
            f"{s['p95']:7.1f} {s['p99']:7.1f} {s['errors']:6d}  {load}"
        )
    lines.append("")
    lines.append("per endpoint (mix" + (", each step over all rounds):" if several else "):"))
    lines.append(
        f"{'users':>5} {'endpoint':<24} {'n':>5} {'req/s':>6} {'p50 ms':>7} {'p95 ms':>7} "
        f"{'p99 ms':>7} {'errors':>6}"
    )
    for result in merged_mix_steps(results):
        for name in sorted(result["samples"]):
            samples = result["samples"][name]
            lines.append(
                f"{result['users']:5d} {name:<24} {len(samples):5d} "
                f"{len(samples) / result['seconds']:6.1f} {percentile(samples, 0.5):7.1f} "
                f"{percentile(samples, 0.95):7.1f} {percentile(samples, 0.99):7.1f} "
                f"{result['errors'].get(name, 0):6d}"
            )
    lines.append("")
    lines.extend(capacity_lines(results))
    return "\n".join(lines)


def main(argv=None) -> int:
    args = parse_args(argv)
    started = time.perf_counter()
    url = f"{args.pg}/{args.database}"
    parts = urlsplit(url)
    if not parts.path.lstrip("/").startswith(("load", "bench")):
        sys.exit("the load benchmark drops and seeds its database: give it a name of its own")
    os.environ["DATABASE_URL"] = url
    description = prepare_database(args, url)
    from benchdb import machine_facts

    facts = machine_facts()
    var_dir = Path(tempfile.mkdtemp(prefix=f"bench-{args.database}-"))
    plan = make_plan(args, description, var_dir)
    plan_path, result_path = var_dir / "plan.json", var_dir / "result.json"
    plan_path.write_text(json.dumps(plan))
    # Close the set-up's connections: gunicorn and Celery open their own.
    from django.db import connections

    connections.close_all()

    env = stack_env(args, url, var_dir)
    bin_dir = Path(sys.executable).parent
    processes: dict[str, subprocess.Popen] = {}
    try:
        processes["celery"] = start(
            [
                str(bin_dir / "celery"),
                "-A",
                "portal",
                "worker",
                "-Q",
                QUEUES,
                "-c",
                str(args.celery_concurrency),
                "-l",
                "warning",
                "-n",
                f"{args.database}@%h",
                "--without-heartbeat",
                "--without-gossip",
            ],
            env,
            var_dir / "celery.log",
        )
        processes["gunicorn"] = start(
            [
                str(bin_dir / "gunicorn"),
                "portal.wsgi:application",
                "--workers",
                str(args.workers),
                "--bind",
                f"127.0.0.1:{args.port}",
                "--timeout",
                "120",
            ],
            env,
            var_dir / "gunicorn.log",
        )
        wait_ready(args.port, processes)
        before = uptime()
        print(f"stack up (gunicorn {args.workers} workers, :{args.port}, Celery); {before}")
        client = subprocess.run(
            [sys.executable, str(HERE / "client.py"), str(plan_path), str(result_path)],
            cwd=BASE_DIR,
        )
        after = uptime()
        if client.returncode != 0:
            print(f"the client failed ({client.returncode}); logs in {var_dir}")
            return 1
    finally:
        for name in ("gunicorn", "celery"):
            if name in processes:
                stop(processes[name], name)
    results = json.loads(result_path.read_text())
    header = (
        f"bench/load: {args.units} units × {args.per_unit} persons + one of {args.big:,}, "
        f"{args.months} months of bills, {len(plan['agents'])} agents; gunicorn --workers "
        f"{args.workers}, Celery -c {args.celery_concurrency}; steps {args.steps} users × "
        f"{args.step_seconds:.0f} s (after {args.warmup_seconds:.0f} s warm-up)"
        + (f", {args.rounds} rounds (mix and reference taking turns)" if args.rounds > 1 else "")
        + f"\n{facts}\n"
        f"uptime before: {before}\nuptime after:  {after}"
    )
    text = report(results, args, header)
    if args.cpu_by_page:
        from cpu import cpu_by_page, cpu_report

        text += "\n\n" + cpu_report(cpu_by_page(var_dir / "cpu"), "GET bench_reference")
    print("\n" + text)
    errors = sum(sum(result["errors"].values()) for result in results)
    examples = [example for result in results for example in result["error_examples"]]
    for example in examples[:10]:
        print("  error: " + example)
    print(f"\ndone in {time.perf_counter() - started:.0f} s; logs in {var_dir}")
    if args.smoke and errors:
        print(f"SMOKE FAILED: {errors} HTTP errors")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
