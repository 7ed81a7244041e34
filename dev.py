#!/usr/bin/env python3
"""Set up and run the portal on a machine that has only Python 3.11.

    python3 dev.py run     install, migrate, load demo data, serve on http://127.0.0.1:8000
    python3 dev.py test    install with the test extras and run the whole test suite
    python3 dev.py lint    ruff check + format check + makemigrations --check + the catalogues
    python3 dev.py messages  update locale/en from the code (makemessages -l en), compile the .mo

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


def compile_messages() -> None:
    """Compile every committed catalogue (msgfmt --check also checks the placeholders)."""
    for po in sorted((ROOT / "locale").glob("*/LC_MESSAGES/*.po")):
        sh("msgfmt", "--check", "-o", po.with_suffix(".mo"), po)


def messages() -> None:
    """Add the strings the code marks now to locale/en (empty, to translate), drop the ones it
    no longer marks, compile; tests/portal/test_translations.py lists what is untranslated."""
    install(("test",))
    manage("makemessages", "-l", "en")
    compile_messages()
    todo = 0
    for selection in ("--untranslated", "--only-fuzzy"):
        found = subprocess.run(
            ["msgattrib", selection, "--no-obsolete", "locale/en/LC_MESSAGES/django.po"],
            cwd=ROOT,
            capture_output=True,
            text=True,
        ).stdout
        todo += max(found.count("\nmsgid ") - 1, 0)  # the header is listed with any entry
    print(f"locale/en: {todo} entries to translate (empty msgstr or '#, fuzzy')", flush=True)


def lint() -> None:
    install(("test",))
    sh(PYTHON, "-m", "ruff", "check", ".")
    sh(PYTHON, "-m", "ruff", "format", "--check", ".")
    manage("makemigrations", "--check", "--dry-run")
    # The catalogues: complete for what the code marks, and the committed .mo compiled from them.
    sh(PYTHON, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/portal/test_translations.py")


def main() -> None:
    command, rest = (sys.argv[1], sys.argv[2:]) if len(sys.argv) > 1 else ("help", [])
    os.chdir(ROOT)
    if command == "run":
        run()
    elif command == "test":
        test(rest)
    elif command == "lint":
        lint()
    elif command == "messages":
        messages()
    elif command == "install":
        install(("test",))
    else:
        print(__doc__)
        sys.exit(0 if command == "help" else 2)


if __name__ == "__main__":
    main()
