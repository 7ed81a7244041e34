"""The load benchmark's client: a closed loop of virtual agents (asyncio + httpx), one process.

    python bench/load/client.py PLAN.json RESULT.json

run.py writes the plan (base URL, the agents' session cookies and their units' pages, the
ramp) and reads the result. Each virtual agent sends its next request as soon as the last one
answered (closed loop, no think time). Every request is timed on its own; a request whose
status is not the expected one (200 for pages, 302 for a POST that succeeded, or for an export
queued as a job: a redirect to its page) is an error.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import re
import sys
import time
from pathlib import Path

import httpx

CSRF_INPUT = re.compile(rb'name="csrfmiddlewaretoken" value="([^"]+)"')

# The month-end mix: (action, weight). Weights are relative.
MIX = [
    ("dashboard", 14),
    ("roster first page", 10),
    ("roster search", 5),
    ("roster page N", 5),
    ("add-employee GET", 8),
    ("add-employee POST", 4),
    ("bill list", 10),
    ("bill detail", 10),
    ("records", 12),
    ("proof issue GET", 6),
    ("proof issue POST", 3),
    ("roster export (csv)", 3),
]


class Recorder:
    def __init__(self):
        self.samples: dict[str, list[float]] = {}
        self.errors: dict[str, int] = {}
        self.error_examples: list[str] = []

    def add(self, name: str, seconds: float, ok: bool, detail: str = "") -> None:
        self.samples.setdefault(name, []).append(seconds * 1000)
        if not ok:
            self.errors[name] = self.errors.get(name, 0) + 1
            if len(self.error_examples) < 20:
                self.error_examples.append(f"{name}: {detail}")


class Agent:
    """One agent's session (cookies) and what its unit's pages are."""

    def __init__(self, spec: dict, base_url: str, timeout: float):
        self.spec = spec
        self.client = httpx.AsyncClient(
            base_url=base_url,
            cookies={spec["cookie_name"]: spec["session_key"]},
            timeout=timeout,
            follow_redirects=False,
            headers={"Accept-Language": "zh-hans"},
        )
        self.csrf = ""

    async def close(self):
        await self.client.aclose()


class Driver:
    def __init__(self, plan: dict):
        self.plan = plan
        self.agents = [Agent(spec, plan["base_url"], plan["timeout"]) for spec in plan["agents"]]
        self.documents = list(plan["new_documents"])
        self.attachments = {
            name: Path(path).read_bytes() for name, path in plan["attachments"].items()
        }
        self.rng = random.Random(plan.get("seed", 1))

    async def close(self):
        for agent in self.agents:
            await agent.close()

    async def timed(self, rec, name, agent, method, url, expect, *, job_redirect=False, **kwargs):
        started = time.perf_counter()
        try:
            response = await agent.client.request(method, url, **kwargs)
            # Read the whole body: the time is until the last byte.
            body = response.content
            ok = response.status_code == expect
            if job_redirect and response.status_code == 302:
                # An export above CONTRIBUTIONS_EXPORT_STREAM_MAX_ROWS (the big unit's roster)
                # is queued as a job: the answer is its page, not the file.
                ok = "/contributions/records/exports/" in response.headers.get("location", "")
            detail = f"{method} {url} → {response.status_code}"
            if ok and expect == 302 and "/accounts/login" in response.headers.get("location", ""):
                ok, detail = False, f"{method} {url} → login page"
        except httpx.HTTPError as exc:
            body, response, ok, detail = b"", None, False, f"{method} {url} → {exc!r}"
        rec.add(name, time.perf_counter() - started, ok, detail)
        return response, body

    async def csrf_token(self, rec, agent, name, url):
        response, body = await self.timed(rec, name, agent, "GET", url, 200)
        found = CSRF_INPUT.search(body or b"")
        return found.group(1).decode() if found else ""

    async def action(self, rec, name: str, agent: Agent) -> None:
        urls = agent.spec["urls"]
        if name == "roster search":
            token = await self.csrf_token(rec, agent, "roster first page", urls["roster"])
            response, _ = await self.timed(
                rec,
                "roster search POST",
                agent,
                "POST",
                urls["roster"],
                302,
                data={"csrfmiddlewaretoken": token, "q": self.rng.choice("王李张刘陈杨")},
                headers={"X-CSRFToken": token},
            )
            if response is not None and response.status_code == 302:
                await self.timed(
                    rec, "roster search results", agent, "GET", response.headers["location"], 200
                )
        elif name == "add-employee POST":
            token = await self.csrf_token(rec, agent, "add-employee GET", urls["add"])
            if not self.documents:
                rec.add(name, 0.0, False, "no fresh ID numbers left in the plan")
                return
            data = dict(self.plan["add_form"])
            data["idempotency_key"] = _uuid(self.rng)
            data["document_number"] = self.documents.pop()
            data["name"] = self.rng.choice("王李张刘陈杨") + self.rng.choice(["伟", "芳", "秀英"])
            data["csrfmiddlewaretoken"] = token
            files = [
                ("labour_contract", ("合同.pdf", self.attachments["pdf"], "application/pdf")),
                ("id_scan", ("身份证.jpg", self.attachments["jpg"], "image/jpeg")),
            ]
            await self.timed(
                rec,
                name,
                agent,
                "POST",
                urls["add"],
                302,
                data=data,
                files=files,
                headers={"X-CSRFToken": token},
            )
        elif name == "proof issue POST":
            token = await self.csrf_token(rec, agent, "proof issue GET", urls["proof_issue"])
            data = {**self.plan["proof_form"], "csrfmiddlewaretoken": token}
            await self.timed(
                rec,
                name,
                agent,
                "POST",
                urls["proof_issue"],
                302,
                data=data,
                headers={"X-CSRFToken": token},
            )
        else:
            url = urls[
                {
                    "dashboard": "dashboard",
                    "roster first page": "roster",
                    "roster page N": "roster_page_n",
                    "add-employee GET": "add",
                    "bill list": "bills",
                    "bill detail": "bill_detail",
                    "records": "records",
                    "proof issue GET": "proof_issue",
                    "roster export (csv)": "export",
                    "reference": "reference",
                }[name]
            ]
            await self.timed(
                rec, name, agent, "GET", url, 200, job_redirect=name == "roster export (csv)"
            )

    def pick(self, target: str) -> str:
        if target == "reference":
            return "reference"
        names = [name for name, _w in MIX]
        weights = [weight for _n, weight in MIX]
        return self.rng.choices(names, weights)[0]

    async def user(self, rec, target: str, stop_at: float):
        while time.perf_counter() < stop_at:
            agent = self.rng.choice(self.agents)
            await self.action(rec, self.pick(target), agent)

    async def step(self, target: str, users: int, seconds: float, warmup: float) -> dict:
        if warmup > 0:
            scratch = Recorder()
            end = time.perf_counter() + warmup
            await asyncio.gather(*(self.user(scratch, target, end) for _ in range(users)))
        rec = Recorder()
        started = time.perf_counter()
        await asyncio.gather(*(self.user(rec, target, started + seconds) for _ in range(users)))
        elapsed = time.perf_counter() - started
        return {
            "target": target,
            "users": users,
            "seconds": elapsed,
            "samples": rec.samples,
            "errors": rec.errors,
            "error_examples": rec.error_examples,
            "loadavg": list(os.getloadavg()),
        }


def _uuid(rng) -> str:
    import uuid

    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


async def main_async(plan: dict) -> list[dict]:
    driver = Driver(plan)
    results = []
    rounds = plan.get("rounds", 1)
    try:
        # The targets take turns at every step (mix, reference at 1 user, then at 2, ...), the
        # order swapped every other round: the machine's drift over a run and whatever one
        # target leaves behind for the next (the Celery worker's queue after the mix) fall on
        # both targets alike.
        for round_number in range(1, rounds + 1):
            order = plan["targets"] if round_number % 2 else plan["targets"][::-1]
            for users in plan["steps"]:
                for target in order:
                    result = await driver.step(
                        target, users, plan["step_seconds"], plan["warmup_seconds"]
                    )
                    result["round"] = round_number
                    total = sum(len(v) for v in result["samples"].values())
                    errors = sum(result["errors"].values())
                    print(
                        f"  round {round_number} {target:<9} {users:3d} users: "
                        f"{total / result['seconds']:7.1f} req/s, {errors} errors, "
                        f"load {result['loadavg'][0]:.2f}",
                        flush=True,
                    )
                    results.append(result)
    finally:
        await driver.close()
    return results


def main() -> None:
    plan = json.loads(Path(sys.argv[1]).read_text())
    results = asyncio.run(main_async(plan))
    Path(sys.argv[2]).write_text(json.dumps(results))


if __name__ == "__main__":
    main()
