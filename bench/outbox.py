"""Benchmark: 10,000 SMS notifications through the outbox with a real Celery worker on Redis.

    .venv/bin/python bench/outbox.py                   # every request accepted
    .venv/bin/python bench/outbox.py --fail-rate 0.1   # the gateway answers 500 to 10 % at random

Drops and creates the database named in DATABASE_URL (default bench_portal on 127.0.0.1) and
flushes the Redis database named in REDIS_URL (default redis://127.0.0.1:6379/5; database 0 is
refused). Starts a stub HTTP SMS gateway on 127.0.0.1 in a process of its own (it checks the
HMAC signature, remembers every idempotency key it accepted and counts requests) and
`celery -A portal worker -Q notifications` as a subprocess configured for it through
SMS_BACKEND=portal.sms.HttpGatewayBackend and SMS_GATEWAYS. Then it writes the notifications
with portal.notifications.notification_create, one transaction each, so that on_commit queues
them; calls portal.notifications.notifications_resend_due every --resend-every seconds as the beat
would; polls the database until every row is delivered; stops the worker with a warm shutdown.

Prints the creation rate, the delivery rate (messages per second), the gateway's request count,
the unique idempotency keys it accepted (must equal the messages), duplicates (a key accepted
more than once: must be 0) and lost messages (rows not delivered, or delivered rows whose key
the gateway never accepted: must be 0). Exits non-zero when a check fails.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import hashlib
import hmac
import json
import multiprocessing
import os
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent))

from benchdb import (  # noqa: E402
    BASE_DIR,
    database_url,
    django_setup,
    machine_facts,
    recreate_database,
)

DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/5"
SECRET = "bench-stub-gateway-secret"


# The stub gateway ---------------------------------------------------------------------------
def serve_gateway(secret: str, fail_rate: float, seed: int, port_pipe) -> None:
    """Run the stub provider until terminated (in a process of its own)."""
    lock = threading.Lock()
    rng = random.Random(seed)
    stats = {"requests": 0, "bad_signature": 0, "answered_500": 0, "accepted": 0}
    accepted: collections.Counter[str] = collections.Counter()

    class Handler(BaseHTTPRequestHandler):
        # http.server writes the headers and the body in two sends: without TCP_NODELAY the
        # client's delayed ACK adds ~40 ms to every request, which no real gateway does.
        disable_nagle_algorithm = True

        def log_message(self, *args):
            pass

        def _answer(self, status: int, payload: bytes = b"") -> None:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def do_GET(self):
            if self.path != "/stats":
                return self._answer(404)
            with lock:
                body = json.dumps({**stats, "keys": dict(accepted)}).encode()
            return self._answer(200, body)

        def do_POST(self):
            body = self.rfile.read(int(self.headers["Content-Length"]))
            expected = hmac.new(
                secret.encode(),
                self.headers.get("X-Timestamp", "").encode() + b"\n" + body,
                hashlib.sha256,
            ).hexdigest()
            with lock:
                stats["requests"] += 1
                if not hmac.compare_digest(expected, self.headers.get("X-Signature", "")):
                    stats["bad_signature"] += 1
                    status = 401
                elif fail_rate and rng.random() < fail_rate:
                    stats["answered_500"] += 1
                    status = 500
                else:
                    # A real provider sends a key it has seen once and accepts it again quietly:
                    # counting every acceptance shows whether the portal ever sent twice.
                    stats["accepted"] += 1
                    accepted[json.loads(body)["idempotency_key"]] += 1
                    status = 200
            if status == 200:
                return self._answer(200, b'{"status": "accepted"}')
            return self._answer(status)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.request_queue_size = 64
    port_pipe.send(server.server_address[1])
    port_pipe.close()
    server.serve_forever()


class Gateway:
    def __init__(self, fail_rate: float, seed: int):
        context = multiprocessing.get_context("spawn")
        receiver, sender = context.Pipe(duplex=False)
        self.process = context.Process(
            target=serve_gateway, args=(SECRET, fail_rate, seed, sender), daemon=True
        )
        self.process.start()
        if not receiver.poll(30):
            raise RuntimeError("the stub gateway did not start")
        self.port = receiver.recv()
        self.url = f"http://127.0.0.1:{self.port}/send"

    def stats(self) -> dict:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/stats", timeout=30) as answer:
            return json.loads(answer.read())

    def stop(self) -> None:
        if self.process.is_alive():
            self.process.terminate()
        self.process.join(10)


# The worker ---------------------------------------------------------------------------------
class Worker:
    """`celery -A portal worker -Q notifications` with its output in a file."""

    def __init__(self, env: dict, *, pool: str, concurrency: int):
        self.node = f"bench-outbox-{os.getpid()}@%h"
        self.log = tempfile.NamedTemporaryFile(prefix="bench-outbox-worker-", suffix=".log")
        command = [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "portal",
            "worker",
            "-Q",
            "notifications",
            "-P",
            pool,
            "-c",
            str(concurrency),
            "-n",
            self.node,
            "--without-gossip",
            "--without-mingle",
            "-l",
            "warning",
        ]
        self.command = " ".join(command[1:])
        self.process = subprocess.Popen(
            command,
            cwd=BASE_DIR,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, so that its pool ends with it
        )

    def output(self) -> str:
        return Path(self.log.name).read_text(encoding="utf-8", errors="replace")

    def wait_ready(self, app, timeout: float = 90) -> float:
        started = time.monotonic()
        node = self.node.replace("%h", os.uname().nodename)
        while time.monotonic() - started < timeout:
            if self.process.poll() is not None:
                sys.exit(f"the worker exited with {self.process.returncode}:\n{self.output()}")
            if app.control.ping(destination=[node], timeout=0.5):
                return time.monotonic() - started
        sys.exit(f"the worker did not answer a ping within {timeout:.0f} s:\n{self.output()}")

    def cpu_seconds(self) -> float:
        """CPU time used so far by the worker's main process and its pool processes."""
        ticks = os.sysconf("SC_CLK_TCK")
        total = 0.0
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            pid, ppid, pgid = int(stat.parent.name), int(fields[1]), int(fields[2])
            if pgid == self.process.pid or pid == self.process.pid or ppid == self.process.pid:
                total += (int(fields[11]) + int(fields[12])) / ticks  # utime + stime
        return total

    def alive(self) -> bool:
        return self.process.poll() is None

    def stop(self) -> str:
        """Warm shutdown (SIGTERM to the main process); SIGKILL its group if it hangs."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=60)
                how = f"warm shutdown, exit code {self.process.returncode}"
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)
                how = "did not stop within 60 s: killed"
        else:
            how = f"had already exited with {self.process.returncode}"
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, 0)  # a pool child left behind?
            os.killpg(self.process.pid, signal.SIGKILL)
            how += "; a left-over pool process was killed"
        return how


# The run ------------------------------------------------------------------------------------
def flush_redis(url: str) -> None:
    import redis

    parts = urlsplit(url)
    db = (parts.path or "/0").lstrip("/") or "0"
    if db == "0":
        sys.exit("refusing to flush Redis database 0: give the benchmark one of its own (e.g. /5)")
    client = redis.Redis.from_url(url)
    client.flushdb()  # this database only
    client.close()


def status_counts() -> dict:
    from django.db.models import Count

    from portal.models import Notification

    return dict(Notification.objects.order_by().values_list("status").annotate(n=Count("pk")))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--fail-rate", type=float, default=0.0, help="share answered HTTP 500")
    parser.add_argument("--pool", default="prefork", choices=["prefork", "threads", "solo"])
    parser.add_argument("--concurrency", type=int, default=2)
    parser.add_argument(
        "--resend-every", type=float, default=60.0, help="seconds between resend_due calls (beat)"
    )
    parser.add_argument("--timeout", type=float, default=1800.0, help="give up after (s)")
    parser.add_argument("--seed", type=int, default=12333)
    args = parser.parse_args()

    url = database_url()
    redis_url = os.environ.get("REDIS_URL") or DEFAULT_REDIS_URL
    flush_redis(redis_url)
    gateway = Gateway(args.fail_rate, args.seed)  # before Django: a spawned, clean process
    name = recreate_database(url)
    print(f"database {name}: dropped and created; Redis {redis_url} flushed")
    gateways = [{"name": "stub", "url": gateway.url, "key_id": "bench", "secret": SECRET}]
    os.environ["SMS_BACKEND"] = "portal.sms.HttpGatewayBackend"
    os.environ["SMS_GATEWAYS"] = json.dumps(gateways)
    django_setup(url, redis_url=redis_url)

    from django.conf import settings
    from django.db import transaction
    from django.db.models import Max, Min, Sum

    from portal.celery import app
    from portal.models import Notification
    from portal.notifications import notification_create, notifications_resend_due

    assert not settings.CELERY_TASK_ALWAYS_EAGER and settings.CELERY_BROKER_URL == redis_url
    print(machine_facts())
    print(
        f"stub gateway {gateway.url} (own process), answering HTTP 500 to "
        f"{args.fail_rate:.0%} of requests at random"
    )

    env = dict(os.environ)
    for variable in ("CELERY_BROKER_URL", "CELERY_RESULT_BACKEND", "DJANGO_ENV"):
        env.pop(variable, None)
    env.update(PYTHONUNBUFFERED="1", LOG_LEVEL="WARNING")
    worker = Worker(env, pool=args.pool, concurrency=args.concurrency)
    gateway_stats = None
    try:
        ready = worker.wait_ready(app)
        print(f"worker: {worker.command} (ready after {ready:.1f} s)")

        rng = random.Random(args.seed)
        resend_calls, requeued = 0, 0
        started, create_cpu_started = time.perf_counter(), time.process_time()
        next_resend = started + args.resend_every
        for i in range(args.messages):
            with transaction.atomic():
                notification_create(
                    channel=Notification.Channel.SMS,
                    recipient=f"1{rng.choice('3578')}{rng.randrange(10**9):09d}",
                    template="registration_approved",
                    context={"unit": f"测试单位{i:05d}有限公司", "reference": f"ZC2026{i:08d}"},
                )
            if time.perf_counter() >= next_resend:
                requeued += notifications_resend_due()
                resend_calls += 1
                next_resend = time.perf_counter() + args.resend_every
        created = time.perf_counter() - started
        create_cpu = time.process_time() - create_cpu_started
        print(
            f"created {args.messages:,} notifications in {created:.1f} s "
            f"({args.messages / created:,.0f}/s, one transaction each, queued on commit; "
            f"{create_cpu * 1000 / args.messages:.1f} ms CPU each in this process)",
            flush=True,
        )

        last_report, counts = 0.0, {}
        while True:
            counts = status_counts()
            done = counts.get(Notification.Status.DELIVERED, 0)
            finished = done + counts.get(Notification.Status.PERMANENT_FAILURE, 0)
            finished += counts.get(Notification.Status.TECHNICAL_FAILURE, 0)
            elapsed = time.perf_counter() - started
            if finished >= args.messages or elapsed > args.timeout or not worker.alive():
                break
            if elapsed - last_report >= 15:
                print(f"  {elapsed:6.0f} s: {counts}", flush=True)
                last_report = elapsed
            if time.perf_counter() >= next_resend:
                requeued += notifications_resend_due()
                resend_calls += 1
                next_resend = time.perf_counter() + args.resend_every
            time.sleep(0.5)
        wall = time.perf_counter() - started
        worker_cpu = worker.cpu_seconds()
        gateway_stats = gateway.stats()
    finally:
        how = worker.stop()
        gateway.stop()
    print(f"worker stopped: {how}")

    rows = Notification.objects.aggregate(
        first_created=Min("created_at"),
        first_delivered=Min("delivered_at"),
        last_delivered=Max("delivered_at"),
        attempts=Sum("attempts"),
    )
    db_keys = {
        str(key)
        for key in Notification.objects.filter(status=Notification.Status.DELIVERED).values_list(
            "idempotency_key", flat=True
        )
    }
    total = Notification.objects.count()
    delivered = len(db_keys)
    keys = gateway_stats["keys"]
    unique = len(keys)
    duplicates = sum(n - 1 for n in keys.values())
    not_delivered = total - delivered
    never_received = len(db_keys - set(keys))
    unknown = len(
        set(keys) - {str(k) for k in Notification.objects.values_list("idempotency_key", flat=True)}
    )
    lost = not_delivered + never_received
    span = (rows["last_delivered"] - rows["first_created"]).total_seconds()
    deliver_span = (rows["last_delivered"] - rows["first_delivered"]).total_seconds()
    attempts = collections.Counter(
        Notification.objects.values_list("attempts", flat=True).order_by()
    )

    print(f"\nRESULTS ({args.messages:,} SMS, {args.pool} pool x {args.concurrency})")
    print(f"  wall time, first create to all delivered: {wall:.1f} s")
    print(
        f"  messages per second, end to end:          {delivered / span:,.1f} "
        f"({delivered:,} delivered in {span:.1f} s from the first row written)"
    )
    print(
        f"  messages per second, while delivering:    {delivered / max(deliver_span, 1e-9):,.1f} "
        f"(first to last delivery, {deliver_span:.1f} s)"
    )
    print(
        f"  worker CPU per message:                   {worker_cpu * 1000 / args.messages:.1f} ms "
        f"({worker_cpu:.1f} s CPU over the run, main and pool processes)"
    )
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"  load average at the end:                  {load} on {os.cpu_count()} cores")
    print(f"  gateway requests received:                {gateway_stats['requests']:,}")
    print(f"    answered HTTP 500:                      {gateway_stats['answered_500']:,}")
    print(f"    refused for a bad signature:            {gateway_stats['bad_signature']:,}")
    print(f"    accepted:                               {gateway_stats['accepted']:,}")
    print(f"  unique idempotency keys delivered:        {unique:,} (must be {args.messages:,})")
    print(f"  duplicates (a key accepted twice or more): {duplicates:,} (must be 0)")
    print(f"  rows not in status delivered:             {not_delivered:,} (must be 0)")
    print(f"  delivered rows the gateway never got:     {never_received:,} (must be 0)")
    print(f"  keys the gateway got that are no row's:   {unknown:,} (must be 0)")
    print(f"  lost (not delivered + never received):    {lost:,} (must be 0)")
    print(f"  statuses: {counts}")
    print(f"  attempts per row: {dict(sorted(attempts.items()))} (sum {rows['attempts']:,})")
    print(f"  resend_due calls: {resend_calls}, rows it queued again: {requeued:,}")
    ok = (
        unique == args.messages
        and duplicates == 0
        and lost == 0
        and unknown == 0
        and gateway_stats["bad_signature"] == 0
    )
    print(f"  checks: {'PASS' if ok else 'FAIL'}")
    if not ok:
        sys.exit(1)


if __name__ == "__main__":
    main()
