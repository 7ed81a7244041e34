"""The database settings read from the environment (portal/settings.py), in a fresh interpreter."""

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _options(**env) -> dict:
    code = (
        "import json; from portal import settings; "
        "print(json.dumps(settings.DATABASES['default'].get('OPTIONS', {})))"
    )
    environment = {k: v for k, v in os.environ.items() if not k.startswith("DB_")}
    environment.update(env)
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_postgresql_prepares_frequent_statements_by_default():
    options = _options(DATABASE_URL="postgres://postgres@127.0.0.1:5432/portal")
    assert options["server_side_binding"] is True
    assert options["prepare_threshold"] == 5


def test_preparing_can_be_turned_off_for_an_old_pooler():
    options = _options(
        DATABASE_URL="postgres://postgres@127.0.0.1:5432/portal",
        DB_PREPARE_THRESHOLD="",
        DB_SERVER_SIDE_BINDING="0",
    )
    assert options["prepare_threshold"] is None
    assert options["server_side_binding"] is False


def test_sqlite_gets_neither():
    options = _options(DATABASE_URL="sqlite:////tmp/x.sqlite3")
    assert "server_side_binding" not in options
    assert "prepare_threshold" not in options
