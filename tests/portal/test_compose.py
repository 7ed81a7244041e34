"""The full stack in docker-compose.yml, the Dockerfile and docker/entrypoint.sh.

Docker itself is not run here: the files are parsed and checked, the entrypoint is run with
stand-in commands, and the web healthcheck is run against gunicorn in staging mode (production
settings with the sandbox providers, which is what compose runs unless .env says otherwise).
"""

from __future__ import annotations

import base64
import json
import os
import re
import secrets
import shlex
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
import yaml

from portal.celery import QUEUES

BASE_DIR = Path(__file__).resolve().parents[2]
COMPOSE_FILE = BASE_DIR / "docker-compose.yml"
DOCKERFILE = BASE_DIR / "Dockerfile"
ENTRYPOINT = BASE_DIR / "docker" / "entrypoint.sh"
ENV_EXAMPLE = BASE_DIR / ".env.example"
DOCKERIGNORE = BASE_DIR / ".dockerignore"
SERVICES = {"postgres", "redis", "web", "worker", "worker-notifications", "beat"}
APP_SERVICES = ("web", "worker", "worker-notifications", "beat")
# Values that must come from the env file (or ${VAR} interpolated from it), never this file.
SECRET_NAME = re.compile(r"SECRET|PASSWORD|PASSWD|TOKEN|(^|_)KEYS?$")
APP_SECRETS = ("SECRET_KEY", "PII_ENCRYPTION_KEYS", "PII_INDEX_KEY")
INTERPOLATION = re.compile(r"^\$\{[A-Za-z_][A-Za-z0-9_]*(?:(?::?[-?+]).*)?\}$")


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load(COMPOSE_FILE.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def services(compose) -> dict:
    return compose["services"]


def argv(value) -> list[str]:
    """A compose command or entrypoint as a list of words."""
    if value is None:
        return []
    if isinstance(value, str):
        return shlex.split(value)
    return [str(word) for word in value]


def environment(service: dict) -> dict[str, str | None]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        pairs = (item.split("=", 1) if "=" in item else (item, None) for item in env)
        return {name: value for name, value in pairs}
    return {name: (None if value is None else str(value)) for name, value in env.items()}


def env_files(service: dict) -> list[str]:
    files = service.get("env_file") or []
    if isinstance(files, str | dict):
        files = [files]
    return [item["path"] if isinstance(item, dict) else item for item in files]


def strings(value) -> list[str]:
    """Every string in a parsed YAML document (comments are gone)."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [text for item in value.items() for part in item for text in strings(part)]
    if isinstance(value, list):
        return [text for item in value for text in strings(item)]
    return []


def option_value(words: list[str], *names: str) -> str | None:
    for index, word in enumerate(words):
        for name in names:
            if word == name and index + 1 < len(words):
                return words[index + 1]
            if name.startswith("--") and word.startswith(name + "="):
                return word.split("=", 1)[1]
    return None


def dockerfile_entrypoint() -> list[str]:
    for line in DOCKERFILE.read_text(encoding="utf-8").splitlines():
        if line.strip().upper().startswith("ENTRYPOINT"):
            value = line.strip()[len("ENTRYPOINT") :].strip()
            return json.loads(value) if value.startswith("[") else shlex.split(value)
    return []


def healthcheck_words(service: dict) -> list[str]:
    test = service["healthcheck"]["test"]
    words = argv(test)
    assert words[0] in {"CMD", "CMD-SHELL"}, test
    return words


# --- services --------------------------------------------------------------------------------


def test_the_five_services_exist_and_restart(services):
    assert SERVICES <= set(services)
    for name in SERVICES:
        assert services[name].get("restart") == "unless-stopped", name


def test_app_services_run_the_image_built_here_in_staging_mode_unless_env_says(services):
    for name in APP_SERVICES:
        service = services[name]
        assert service.get("build") in (".", {"context": "."}), name
        env = environment(service)
        assert env.get("DJANGO_ENV") == "${DJANGO_ENV:-staging}", name
        assert env.get("DATABASE_URL", "").startswith("postgres://"), name
        assert "@postgres:5432/" in env["DATABASE_URL"], name
        assert env.get("REDIS_URL", "").startswith("redis://redis:6379/"), name
        assert ".env" in env_files(service), name


def test_app_services_wait_for_healthy_postgres_and_redis(services):
    for name in APP_SERVICES:
        depends_on = services[name].get("depends_on")
        assert isinstance(depends_on, dict), f"{name}: depends_on needs conditions"
        for dependency in ("postgres", "redis"):
            assert depends_on[dependency]["condition"] == "service_healthy", (name, dependency)


def test_web_starts_through_the_entrypoint_that_migrates_and_runs_gunicorn(services):
    web = services["web"]
    command = argv(web.get("command"))
    entrypoint = argv(web.get("entrypoint")) or dockerfile_entrypoint()
    words = entrypoint + command
    if "gunicorn" in words:  # started directly by compose
        joined = " ".join(words)
        assert "migrate" in joined and "portal.wsgi:application" in joined
        return
    assert entrypoint and entrypoint[-1].endswith("docker/entrypoint.sh"), entrypoint
    assert command == ["web"], command
    script = ENTRYPOINT.read_text(encoding="utf-8")
    assert "python manage.py migrate --noinput" in script
    assert "python manage.py createcachetable" in script
    assert "exec gunicorn portal.wsgi:application -b 0.0.0.0:8000" in script
    assert "${WEB_CONCURRENCY:-3}" in script


def test_web_healthcheck_fetches_healthz_with_urllib(services):
    web = services["web"]
    words = healthcheck_words(web)
    assert "python" in words[1]
    code = words[-1]
    assert "urllib.request" in code and "/healthz" in code and ":8000" in code


def test_web_nodes_share_one_port_and_keep_files_in_the_private_bucket(compose, services):
    # Two nodes of the same image behind nginx; none publishes a port or mounts a media folder.
    assert argv(services["web-2"]["command"]) == argv(services["web"]["command"]) == ["web"]
    assert services["proxy"]["ports"] == ["127.0.0.1:8000:8000"]
    conf = (BASE_DIR / "docker" / "nginx.conf").read_text(encoding="utf-8")
    assert "server web:8000" in conf and "server web-2:8000" in conf
    for name in APP_SERVICES + ("web-2",):
        service = services[name]
        assert "ports" not in service and not service.get("volumes"), name
        env = environment(service)
        assert env["S3_BUCKET"] == "portal" and env["S3_ENDPOINT_URL"] == "http://minio:9000"
        assert INTERPOLATION.match(env["S3_SECRET_ACCESS_KEY"]), name
        assert services[name]["depends_on"]["minio-init"]["condition"] == (
            "service_completed_successfully"
        )
    init = " ".join(argv(services["minio-init"]["entrypoint"]))
    assert "mc mb --ignore-existing local/portal" in init
    assert "mc anonymous set none local/portal" in init  # no public-read, ever
    assert "miniodata" in compose["volumes"] and "media" not in compose["volumes"]


def _worker_queues(service) -> list[str]:
    words = argv(service["command"])
    assert words[:4] == ["celery", "-A", "portal", "worker"], words
    assert "-B" not in words and "--beat" not in words  # the one beat is its own service
    queues = option_value(words, "-Q", "--queues")
    assert queues is not None, words
    check = " ".join(healthcheck_words(service)[1:])
    assert "celery -A portal inspect ping" in check
    return queues.split(",")


def test_the_workers_consume_every_queue_and_notifications_have_their_own(services):
    workers = {
        name: _worker_queues(service)
        for name, service in services.items()
        if argv(service.get("command"))[3:4] == ["worker"]
    }
    assert sorted(q for queues in workers.values() for q in queues) == sorted(QUEUES)
    # Login codes never wait behind a long pre-check chunk or an import.
    assert workers["worker-notifications"] == ["notifications"]
    assert "notifications" not in workers["worker"]


def test_the_makefile_starts_the_same_two_workers():
    makefile = (BASE_DIR / "Makefile").read_text()
    assert "worker -Q default,reviews,imports" in makefile
    assert "worker -Q notifications" in makefile


def test_exactly_one_beat(services):
    words = argv(services["beat"]["command"])
    assert words[:4] == ["celery", "-A", "portal", "beat"], words
    assert services["beat"].get("deploy", {}).get("replicas", 1) == 1
    schedule = option_value(words, "-s", "--schedule")
    assert schedule is None or schedule.startswith("/app/var/"), schedule  # a writable folder
    others = [
        name
        for name, service in services.items()
        if name != "beat" and "beat" in argv(service.get("command"))
    ]
    assert others == []


def test_postgres_and_redis_have_healthchecks_and_volumes(compose, services):
    declared_volumes = set(compose.get("volumes") or {})

    postgres, redis = services["postgres"], services["redis"]
    assert postgres["image"] == "postgres:16"
    assert "pg_isready" in healthcheck_words(postgres)[1:][0]
    assert redis["image"] == "redis:7"
    assert healthcheck_words(redis)[1:] == ["redis-cli", "ping"]
    redis_command = argv(redis.get("command"))
    assert option_value(redis_command, "--appendonly") == "yes"
    assert option_value(redis_command, "--maxmemory-policy") == "noeviction"

    for service, path in ((postgres, "/var/lib/postgresql/data"), (redis, "/data")):
        mounts = dict(volume.rsplit(":", 1) for volume in service["volumes"])
        assert {source for source, target in mounts.items() if target == path} <= declared_volumes
        assert path in mounts.values()


def test_no_secret_values_in_the_compose_file(services):
    for name, service in services.items():
        for key, value in environment(service).items():
            if value is None:
                continue
            if SECRET_NAME.search(key):
                assert INTERPOLATION.match(value), f"{name}: {key} is a literal, not ${{VAR}}"
            for password in re.findall(r"://[^:/@\s]*:(\$\{[^}]*\}|[^@\s]*)@", value):
                assert INTERPOLATION.match(password), f"{name}: {key} has a literal password"
    for name in APP_SERVICES:
        env = environment(services[name])
        for secret in APP_SECRETS:  # from the env file
            assert env.get(secret) is None or INTERPOLATION.match(env[secret]), (name, secret)


def test_env_example_documents_every_variable_with_placeholders(compose, services):
    example = dict(
        line.split("=", 1)
        for line in ENV_EXAMPLE.read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    )
    referenced = set(re.findall(r"\$\{([A-Za-z_][A-Za-z0-9_]*)", " ".join(strings(compose))))
    required = {*APP_SECRETS, "ALLOWED_HOSTS"} | referenced
    assert required <= set(example), required - set(example)
    for name in (*APP_SECRETS, "POSTGRES_PASSWORD"):
        assert "change-me" in example[name], f"{name} must be a placeholder in .env.example"
    ignored = DOCKERIGNORE.read_text(encoding="utf-8").split()
    assert ".env" in ignored and ".git" in ignored and ".venv" in ignored


# --- Dockerfile and entrypoint ---------------------------------------------------------------


def test_dockerfile_builds_a_non_root_image_with_the_entrypoint():
    dockerfile = DOCKERFILE.read_text(encoding="utf-8")
    instructions = [line.strip() for line in dockerfile.splitlines() if line.strip()]

    assert instructions[[i.startswith("FROM") for i in instructions].index(True)] == (
        "FROM python:3.11-slim"
    )
    users = [line.split()[1] for line in instructions if line.startswith("USER ")]
    assert users and users[-1] not in {"root", "0"}
    assert "EXPOSE 8000" in instructions
    assert "docker/entrypoint.sh" in dockerfile
    assert "pip install ." in dockerfile and "COPY pyproject.toml" in dockerfile
    collect = next(line for line in instructions if "collectstatic" in line)
    assert "DJANGO_ENV=production" not in collect
    assert "DJANGO_STATIC_MANIFEST=1" in collect  # production serves from the manifest
    assert os.access(ENTRYPOINT, os.X_OK)


def run_entrypoint(tmp_path: Path, *args: str, env=None, failing: str = ""):
    """Run docker/entrypoint.sh with stand-ins for python, gunicorn and celery on PATH."""
    bin_dir, log = tmp_path / "bin", tmp_path / "calls.log"
    bin_dir.mkdir(parents=True, exist_ok=True)
    for name in ("python", "gunicorn", "celery"):
        stub = bin_dir / name
        stub.write_text(
            "#!/bin/sh\n"
            f'echo "{name} $*" >> "{log}"\n'
            f'case "{name} $*" in "{failing}") exit 3;; esac\n'
            "exit 0\n"
        )
        stub.chmod(0o755)
    full_env = {"PATH": f"{bin_dir}:/usr/bin:/bin", **(env or {})}
    result = subprocess.run(
        ["/bin/sh", str(ENTRYPOINT), *args],
        cwd=BASE_DIR,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=30,
    )
    calls = log.read_text().splitlines() if log.exists() else []
    return result, calls


def test_entrypoint_web_waits_migrates_then_execs_gunicorn(tmp_path):
    result, calls = run_entrypoint(tmp_path, "web")

    assert result.returncode == 0, result.stderr
    assert calls == [
        "python -",  # waits for the database
        "python manage.py migrate --noinput",
        "python manage.py createcachetable",
        "gunicorn portal.wsgi:application -b 0.0.0.0:8000 --workers 3",
    ]


def test_entrypoint_web_concurrency_and_failed_migration(tmp_path):
    _, calls = run_entrypoint(tmp_path / "a", "web", env={"WEB_CONCURRENCY": "5"})
    assert calls[-1] == "gunicorn portal.wsgi:application -b 0.0.0.0:8000 --workers 5"

    result, calls = run_entrypoint(
        tmp_path / "b", "web", failing="python manage.py migrate --noinput"
    )
    assert result.returncode != 0
    assert not any(call.startswith("gunicorn") for call in calls)  # never serve unmigrated


def test_entrypoint_runs_other_commands_as_given(tmp_path):
    result, calls = run_entrypoint(tmp_path, "celery", "-A", "portal", "beat", "-l", "info")

    assert result.returncode == 0, result.stderr
    assert calls == ["celery -A portal beat -l info"]


# --- the web healthcheck against staging settings -------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_web_healthcheck_passes_against_gunicorn_in_staging_mode(services, tmp_path):
    """The compose healthcheck as written, against staging settings (SQLite, eager tasks).

    Staging, as production, redirects plain HTTP and rejects unknown hosts, and serves static
    files from the manifest the image's collectstatic writes: all three would fail a naive check.
    """
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL", "CI"}}
    for name in ("CELERY_TASK_ALWAYS_EAGER", "CELERY_BROKER_URL", "DJANGO_DEBUG", "DJANGO_ENV"):
        env.pop(name, None)
    env.update(
        DJANGO_SETTINGS_MODULE="portal.settings",
        PORTAL_VAR_DIR=str(tmp_path / "var"),
        STATIC_ROOT=str(tmp_path / "static"),
        MEDIA_ROOT=str(tmp_path / "media"),
    )
    staging = {
        **env,
        "DJANGO_ENV": "staging",
        "SECRET_KEY": secrets.token_urlsafe(48),
        "ALLOWED_HOSTS": "portal.example.cn",
        "PII_ENCRYPTION_KEYS": "k1:" + base64.b64encode(os.urandom(32)).decode(),
        "PII_INDEX_KEY": secrets.token_urlsafe(32),
        "PROOF_ISSUER_NAME": "演示市社会保险事业管理中心",
        "PROOF_SIGNING_CERT": str(tmp_path / "proof-signing.pem"),
        "PROOF_SIGNING_KEY": str(tmp_path / "proof-signing.key.pem"),
    }

    def manage(*args, environ):
        result = subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=BASE_DIR,
            env=environ,
            capture_output=True,
            text=True,
            timeout=180,
        )
        assert result.returncode == 0, result.stdout + result.stderr

    # As the Dockerfile builds (DJANGO_ENV unset) and the entrypoint starts.
    manage("collectstatic", "--noinput", environ={**env, "DJANGO_STATIC_MANIFEST": "1"})
    manage("migrate", "--noinput", environ=staging)
    manage("createcachetable", environ=staging)

    log = tmp_path / "gunicorn.log"
    with open(log, "wb") as output:
        server = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "portal.wsgi:application"]
            + ["-b", f"127.0.0.1:{port}", "--workers", "1"],
            cwd=BASE_DIR,
            env=staging,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        # Generous limits, polled: a loaded machine may take long to import Django.
        deadline = time.monotonic() + 180
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert server.poll() is None, log.read_text()
                assert time.monotonic() < deadline, log.read_text()
                time.sleep(0.2)

        code = healthcheck_words(services["web"])[-1].replace(":8000/", f":{port}/")
        deadline = time.monotonic() + 180
        while True:  # as docker retries a health check: until it passes or time is up
            check = subprocess.run(
                [sys.executable, "-c", code],
                env={**staging, "ALLOWED_HOSTS": "portal.example.cn,www.portal.example.cn"},
                capture_output=True,
                text=True,
                timeout=120,
            )
            if check.returncode == 0 or time.monotonic() > deadline:
                break
            time.sleep(1)
        assert check.returncode == 0, check.stderr + log.read_text()

        page = urllib.request.Request(
            f"http://127.0.0.1:{port}/",
            headers={"Host": "portal.example.cn", "X-Forwarded-Proto": "https"},
        )
        try:
            with urllib.request.urlopen(page, timeout=60) as response:
                assert response.status == 200
                html = response.read().decode("utf-8")
        except urllib.error.HTTPError as exc:
            pytest.fail(f"home page {exc.code}:\n{log.read_text()}")
        hashed = re.search(r'href="/static/[^"]+\.[0-9a-f]{12}\.css"', html)
        assert hashed, "staging pages link hashed static names from the manifest"
        assert "DJANGO_ENV=staging" in log.read_text()  # the mode is announced at start
    finally:
        os.killpg(server.pid, 15)
        server.wait(timeout=20)
