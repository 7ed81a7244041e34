#!/usr/bin/env python3
"""Set up and run the portal on a machine that has only Python 3.11.

    python3 dev.py run     install, migrate, load demo data, serve on http://127.0.0.1:8000
    python3 dev.py test    install with the test extras and run the whole test suite
    python3 dev.py lint    ruff check + format check + makemigrations --check

The virtual environment lives in .venv/; dependencies come from pyproject.toml and are
reinstalled only when it changes.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import tomllib
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
PYTHON = VENV / "bin" / "python"


def sh(*args: str | Path, env: dict | None = None) -> None:
    result = subprocess.run([str(a) for a in args], cwd=ROOT, env=env)
    if result.returncode != 0:
        sys.exit(result.returncode)


def install(extras: tuple[str, ...] = ()) -> None:
    """Create .venv and install the declared dependencies when pyproject.toml changed."""
    if not PYTHON.exists():
        print("创建虚拟环境 .venv …", flush=True)
        venv.create(VENV, with_pip=True)
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    requirements = list(project["dependencies"])
    for extra in extras:
        requirements += project["optional-dependencies"][extra]
    digest = hashlib.sha256("\n".join(requirements).encode()).hexdigest()
    stamp = VENV / f".installed-{'-'.join(extras) or 'base'}"
    if stamp.exists() and stamp.read_text() == digest:
        return
    print("安装依赖 …", flush=True)
    sh(PYTHON, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", *requirements)
    stamp.write_text(digest)


def manage(*args: str) -> None:
    sh(PYTHON, "manage.py", *args)


def run() -> None:
    install()
    manage("migrate", "--noinput")
    manage("createcachetable")
    manage("seed_demo")
    print("门户已启动:http://127.0.0.1:8000/  (Ctrl+C 停止)", flush=True)
    manage("runserver", "127.0.0.1:8000")


def test(pytest_args: list[str]) -> None:
    install(("test",))
    sh(PYTHON, "-m", "pytest", *pytest_args)


def lint() -> None:
    install(("test",))
    sh(PYTHON, "-m", "ruff", "check", ".")
    sh(PYTHON, "-m", "ruff", "format", "--check", ".")
    manage("makemigrations", "--check", "--dry-run")


def main() -> None:
    command, rest = (sys.argv[1], sys.argv[2:]) if len(sys.argv) > 1 else ("help", [])
    os.chdir(ROOT)
    if command == "run":
        run()
    elif command == "test":
        test(rest)
    elif command == "lint":
        lint()
    elif command == "install":
        install(("test",))
    else:
        print(__doc__)
        sys.exit(0 if command == "help" else 2)


if __name__ == "__main__":
    main()
