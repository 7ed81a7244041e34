"""Uploaded and generated files on S3-compatible object storage (django-storages), against moto's
S3 server on 127.0.0.1: every node sees the same files, no object is public-read, and files reach
users only through the views that check who asks. Local files stay the embedded default."""

from __future__ import annotations

import datetime
import io
import json
import os
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import boto3
import pytest
from django.test import Client
from django.urls import reverse
from openpyxl import load_workbook

from contributions.models import BillStatus, ExportJob
from employers.helpdesk.services import question_ask, question_follow_up
from employers.models import QuestionTopic, Role
from portal.uploads import upload_check
from tests.contributions.bill_helpers import create_bill, create_unit_with_staff
from tests.enrollment.add_helpers import pdf_bytes, upload
from tests.factories import create_agent

BASE_DIR = Path(__file__).resolve().parents[2]
PUBLIC_GROUPS = (
    "http://acs.amazonaws.com/groups/global/AllUsers",
    "http://acs.amazonaws.com/groups/global/AuthenticatedUsers",
)
KEYS = {"access_key": "bench-access", "secret_key": "bench-secret-key"}


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def s3_server():
    """moto's S3 server (moto[server]) on 127.0.0.1; its URL."""
    port = _free_port()
    server = subprocess.Popen(
        [str(Path(sys.executable).parent / "moto_server"), "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            if time.monotonic() > deadline or server.poll() is not None:
                server.kill()
                pytest.fail("moto_server did not start")
            time.sleep(0.2)
    yield url
    server.terminate()
    server.wait(timeout=30)


@pytest.fixture
def bucket(s3_server, settings):
    """A fresh private bucket, and the default storage pointed at it as S3_BUCKET would."""
    name = f"portal-{uuid.uuid4().hex[:12]}"
    client = boto3.client(
        "s3",
        endpoint_url=s3_server,
        aws_access_key_id=KEYS["access_key"],
        aws_secret_access_key=KEYS["secret_key"],
        region_name="us-east-1",
    )
    client.create_bucket(Bucket=name)
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "storages.backends.s3.S3Storage",
            "OPTIONS": {
                "bucket_name": name,
                "endpoint_url": s3_server,
                "region_name": "us-east-1",
                "default_acl": "private",
                "querystring_auth": True,
                "querystring_expire": 300,
                "file_overwrite": False,
                "addressing_style": "path",
                "signature_version": "s3v4",
                **KEYS,
            },
        },
    }
    return client, name


def _keys(client, name: str) -> list[str]:
    return [item["Key"] for item in client.list_objects_v2(Bucket=name).get("Contents", [])]


def _is_private(client, name: str, key: str) -> bool:
    grants = client.get_object_acl(Bucket=name, Key=key)["Grants"]
    return not any(grant["Grantee"].get("URI") in PUBLIC_GROUPS for grant in grants)


@pytest.mark.django_db
def test_a_generated_export_goes_to_the_bucket_private_and_comes_back_through_django(
    bucket, client, settings, django_capture_on_commit_callbacks
):
    s3, name = bucket
    settings.CONTRIBUTIONS_EXPORT_STREAM_MAX_ROWS = 1
    employer, _admin, _period, enrolments = create_unit_with_staff(2)
    create_bill(employer, datetime.date(2026, 8, 1), enrolments, status=BillStatus.SETTLED)
    agent = create_agent(employer, roles=[Role.QUERIES], name="查询员")
    client.force_login(agent.user)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            "/contributions/records/exports/",
            {"kind": "records", "format": "xlsx", "month_from": "2026-08", "month_to": "2026-08"},
        )
    job = ExportJob.objects.get()
    assert job.status == ExportJob.Status.DONE
    assert _keys(s3, name) == [job.file.name] and job.file.name.startswith("exports/")
    assert _is_private(s3, name, job.file.name)
    assert not (Path(settings.MEDIA_ROOT) / job.file.name).exists()  # not on the local disk

    response = client.get(f"/contributions/records/exports/{job.reference}/download/")
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(b"".join(response.streaming_content))).worksheets[0]
    assert sheet.max_row == 9 and sheet["A1"].value == "费款所属期"
    # A link to the object itself is signed and short-lived, never a public address.
    url = job.file.url
    assert "X-Amz-Signature=" in url and "X-Amz-Expires=300" in url

    other = Client()
    other.force_login(create_agent(roles=[Role.UNIT_ADMIN]).user)  # another unit
    assert other.get(f"/contributions/records/exports/{job.reference}/download/").status_code == 404


@pytest.mark.django_db
def test_an_uploaded_attachment_is_stored_in_the_bucket_and_served_after_the_check(bucket, client):
    s3, name = bucket
    agent = create_agent(roles=[Role.UNIT_ADMIN])
    question = question_ask(
        agent=agent,
        topic=QuestionTopic.RECORDS,
        subject="缴费记录查不到",
        text="本月增员的职工查不到缴费记录。",
        idempotency_key=uuid.uuid4(),
        attachment=None,
    )
    message = question_follow_up(
        agent=agent,
        question=question,
        text="附上截图",
        attachment=upload_check(upload("截图.pdf", pdf_bytes())),
    )
    assert message.attachment.name in _keys(s3, name)
    assert _is_private(s3, name, message.attachment.name)
    client.force_login(agent.user)
    response = client.get(reverse("helpdesk:attachment", args=[message.pk]))
    assert response.status_code == 200
    assert b"".join(response.streaming_content).startswith(b"%PDF-")


SETTINGS_SCRIPT = """
import json
from django.conf import settings
print(json.dumps(settings.STORAGES["default"]))
"""


@pytest.mark.parametrize(
    ("env", "backend"),
    [
        ({}, "django.core.files.storage.FileSystemStorage"),
        (
            {"S3_BUCKET": "portal-files", "S3_ENDPOINT_URL": "http://minio:9000"},
            "storages.backends.s3.S3Storage",
        ),
    ],
)
def test_local_files_are_the_default_and_s3_bucket_switches_to_object_storage(
    tmp_path, env, backend
):
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("S3_", "DATABASE_URL"))}
    result = subprocess.run(
        [sys.executable, "-c", SETTINGS_SCRIPT],
        cwd=BASE_DIR,
        env={
            **clean,
            "DJANGO_SETTINGS_MODULE": "portal.settings",
            "PORTAL_VAR_DIR": str(tmp_path),
            "MEDIA_ROOT": str(tmp_path / "media"),
            "STATIC_ROOT": str(tmp_path / "static"),
            **env,
        },
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    storage = json.loads(result.stdout.strip().splitlines()[-1])
    assert storage["BACKEND"] == backend
    if env:
        options = storage["OPTIONS"]
        assert options["bucket_name"] == "portal-files"
        assert options["endpoint_url"] == "http://minio:9000"
        assert options["default_acl"] == "private" and options["querystring_auth"] is True
