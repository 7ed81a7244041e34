"""bench/load/cpu.py: the load benchmark's CPU time per page in the gunicorn workers."""

from types import SimpleNamespace

from django.http import HttpResponse, StreamingHttpResponse
from django.test import RequestFactory

from bench.load import cpu


def _request(path: str, url_name: str):
    request = RequestFactory().get(path)
    request.resolver_match = SimpleNamespace(url_name=url_name)
    return request


def test_each_page_adds_its_requests_and_cpu_time_and_the_files_add_up(tmp_path, monkeypatch):
    monkeypatch.setenv("BENCH_CPU_DIR", str(tmp_path))
    monkeypatch.setattr(cpu, "_process", None)
    page = cpu.PageCpuMiddleware(lambda request: HttpResponse("页面"))
    streamed = cpu.PageCpuMiddleware(
        lambda request: StreamingHttpResponse(str(n).encode() for n in range(3))
    )

    for _ in range(3):
        page(_request("/dashboard/", "dashboard"))
    response = streamed(_request("/export/", "roster_csv"))
    assert cpu._process.totals.get("GET roster_csv") is None  # counted when the body is sent
    assert b"".join(response.streaming_content) == b"012"
    cpu._process.dump()

    totals = cpu.cpu_by_page(tmp_path)
    assert totals["GET dashboard"][0] == 3
    assert totals["GET roster_csv"][0] == 1
    assert all(seconds >= 0 for _count, seconds in totals.values())


def test_the_report_gives_each_page_its_share_of_the_mix_and_the_reference_apart():
    text = cpu.cpu_report(
        {
            "GET dashboard": (10, 0.2),
            "POST proof_issue": (2, 0.2),
            "GET bench_reference": (100, 0.5),
        },
        "GET bench_reference",
    )
    lines = text.splitlines()
    assert lines[2].split() == ["GET", "dashboard", "10", "20.0", "50.0%"]
    assert lines[3].split() == ["POST", "proof_issue", "2", "100.0", "50.0%"]
    assert lines[4].split()[-2:] == ["12", "33.3"]  # 0.4 s over 12 requests
    assert lines[5].split() == ["reference", "100", "5.0"]
