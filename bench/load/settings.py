"""Settings of the load benchmark only: the portal's settings plus the reference view's URL.

gunicorn runs with DJANGO_SETTINGS_MODULE=bench.load.settings; production never loads this
module, so the reference view is never among the portal's URLs. With BENCH_CPU_DIR set
(run.py --cpu-by-page), each worker also adds up its CPU time per page (bench/load/cpu.py).
"""

import os

from portal.settings import *  # noqa: F403
from portal.settings import BASE_DIR, MIDDLEWARE, TEMPLATES

ROOT_URLCONF = "bench.load.urls"
TEMPLATES[0]["DIRS"] = [*TEMPLATES[0]["DIRS"], BASE_DIR / "bench" / "load" / "templates"]
if os.environ.get("BENCH_CPU_DIR"):
    MIDDLEWARE = ["bench.load.cpu.PageCpuMiddleware", *MIDDLEWARE]
