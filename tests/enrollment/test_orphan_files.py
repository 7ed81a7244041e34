"""cleanup_orphan_files: files under the enrolment prefixes that no row refers to."""

from __future__ import annotations

import os
import time

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.management import CommandError, call_command

from employers.models import Role
from enrollment.models import BatchImport
from enrollment.tasks import cleanup_orphan_files_task
from portal.celery import app
from tests.factories import create_agent, create_employer

pytestmark = pytest.mark.django_db

DAY = 24 * 3600


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")
    return tmp_path / "media"


def put(name: str, *, age_hours: float) -> str:
    stored = default_storage.save(name, ContentFile(b"x"))
    moment = time.time() - age_hours * 3600
    os.utime(default_storage.path(stored), (moment, moment))
    return stored


@pytest.fixture
def files():
    employer = create_employer()
    agent = create_agent(employer, roles=[Role.ENROLMENT])
    base = f"imports/{employer.pk}"
    batch = BatchImport.objects.create(
        reference="PL20260101AAAA0001",
        employer=employer,
        submitted_by=agent,
        file=put(f"{base}/upload.xlsx", age_hours=72),
        report=put(f"{base}/report.xlsx", age_hours=72),
        original_name="名单.xlsx",
        file_sha256="0" * 64,
    )
    return {
        "batch": batch,
        "kept_upload": batch.file.name,
        "kept_report": batch.report.name,
        "young": put(f"{base}/young.xlsx", age_hours=2),
        "orphan_import": put(f"{base}/orphan.xlsx", age_hours=30),
        "orphan_attachment": put(f"attachments/{employer.pk}/abc.pdf", age_hours=48),
        "orphan_form": put(f"forms/{employer.pk}/def.pdf", age_hours=25),
        "other_app": put("exports/2026/01/old.csv", age_hours=500),
    }


def exists(name: str) -> bool:
    return default_storage.exists(name)


def test_deletes_only_old_unreferenced_files_under_the_prefixes(files, capsys):
    call_command("cleanup_orphan_files")
    output = capsys.readouterr().out
    assert "scanned 6 files: 2 referenced, 1 younger than 24 h, 3 orphaned; deleted 3" in output
    for key in ("orphan_import", "orphan_attachment", "orphan_form"):
        assert not exists(files[key]), key
    for key in ("kept_upload", "kept_report", "young", "other_app"):
        assert exists(files[key]), key
    assert "/" not in output and ".xlsx" not in output  # counts only, no file names


def test_dry_run_deletes_nothing(files, capsys):
    call_command("cleanup_orphan_files", "--dry-run")
    assert "3 orphaned; would delete 3" in capsys.readouterr().out
    assert all(exists(name) for key, name in files.items() if key != "batch")


def test_threshold_is_configurable_and_has_a_floor(files, capsys):
    call_command("cleanup_orphan_files", "--older-than-hours", "40")
    assert "3 younger than 40 h, 1 orphaned; deleted 1" in capsys.readouterr().out
    assert not exists(files["orphan_attachment"])
    assert exists(files["orphan_import"]) and exists(files["orphan_form"])
    with pytest.raises(CommandError):
        call_command("cleanup_orphan_files", "--older-than-hours", "0")


def test_a_missing_prefix_is_no_error(capsys):
    call_command("cleanup_orphan_files")
    assert "scanned 0 files" in capsys.readouterr().out


def test_daily_beat_task_runs_the_cleanup(files):
    entry = app.conf.beat_schedule["enrollment-cleanup-orphan-files"]
    assert entry["task"] == "enrollment.tasks.cleanup_orphan_files"
    result = cleanup_orphan_files_task.delay().get()
    assert result["deleted"] == 3 and result["referenced"] == 2
    assert exists(files["kept_upload"])
