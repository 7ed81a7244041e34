"""CPU time per page inside the gunicorn workers, for `run.py --cpu-by-page`.

bench.load.settings puts PageCpuMiddleware first when BENCH_CPU_DIR is set. It adds each
request's CPU time (the worker thread's, from the first middleware to the last byte of a
streamed body) to its page's total, keyed "METHOD url-name", and each worker writes its totals
to BENCH_CPU_DIR/cpu.<pid>.json every 100 requests and when it stops. run.py adds the files up:
what each page of the mix costs the web tier, and its share of the mix's CPU. The time is the
thread's own CPU, so it does not count waiting for PostgreSQL, but does count the Python side of
every query.
"""

from __future__ import annotations

import atexit
import json
import os
import time
from pathlib import Path

DUMP_EVERY = 100


class PageCpu:
    """One process's totals: {key: [requests, cpu seconds]}."""

    def __init__(self, directory: str):
        self.path = Path(directory) / f"cpu.{os.getpid()}.json"
        self.totals: dict[str, list] = {}
        self.since_dump = 0
        atexit.register(self.dump)

    def add(self, key: str, seconds: float) -> None:
        total = self.totals.setdefault(key, [0, 0.0])
        total[0] += 1
        total[1] += seconds
        self.since_dump += 1
        if self.since_dump >= DUMP_EVERY:
            self.dump()

    def dump(self) -> None:
        self.since_dump = 0
        if self.totals:
            self.path.write_text(json.dumps(self.totals))


_process: PageCpu | None = None


def _totals() -> PageCpu:
    global _process
    if _process is None or _process.path.name != f"cpu.{os.getpid()}.json":  # after a fork
        _process = PageCpu(os.environ["BENCH_CPU_DIR"])
    return _process


class PageCpuMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        started = time.thread_time()
        response = self.get_response(request)
        match = getattr(request, "resolver_match", None)
        key = f"{request.method} {match.url_name if match else 'unresolved'}"
        if response.streaming:
            response.streaming_content = _timed(response.streaming_content, key, started)
        else:
            _totals().add(key, time.thread_time() - started)
        return response


def _timed(chunks, key: str, started: float):
    try:
        yield from chunks
    finally:
        _totals().add(key, time.thread_time() - started)


def cpu_by_page(directory: Path) -> dict[str, tuple[int, float]]:
    """The workers' files added up: {key: (requests, cpu seconds)}."""
    totals: dict[str, list] = {}
    for path in sorted(directory.glob("cpu.*.json")):
        for key, (count, seconds) in json.loads(path.read_text()).items():
            total = totals.setdefault(key, [0, 0.0])
            total[0] += count
            total[1] += seconds
    return {key: (count, seconds) for key, (count, seconds) in totals.items()}


def cpu_report(totals: dict[str, tuple[int, float]], reference_key: str) -> str:
    """A table of CPU ms per request and share of the mix's CPU, most costly first."""
    mix = {key: value for key, value in totals.items() if key != reference_key}
    mix_seconds = sum(seconds for _count, seconds in mix.values()) or 1.0
    mix_requests = sum(count for count, _seconds in mix.values()) or 1
    lines = [
        "CPU per request in the gunicorn workers (whole run; --cpu-by-page):",
        f"{'page':<32} {'requests':>8} {'ms/req':>7} {'share of mix':>12}",
    ]
    for key, (count, seconds) in sorted(mix.items(), key=lambda item: -item[1][1]):
        lines.append(
            f"{key:<32} {count:8d} {seconds / count * 1000:7.1f} "
            f"{seconds / mix_seconds * 100:11.1f}%"
        )
    mean = mix_seconds / mix_requests * 1000
    lines.append(f"{'mix (all pages)':<32} {mix_requests:8d} {mean:7.1f}")
    if reference_key in totals:
        count, seconds = totals[reference_key]
        lines.append(f"{'reference':<32} {count:8d} {seconds / count * 1000:7.1f}")
    return "\n".join(lines)
