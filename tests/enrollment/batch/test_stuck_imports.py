"""Imports whose worker died, or whose message never left, are queued again by the watcher."""

import datetime

import pytest
from django.utils import timezone

from enrollment.batch.process import batch_import_create, batch_imports_requeue_stuck, batch_process
from enrollment.models import AddEmployeeFiling, BatchImport
from enrollment.tasks import import_batch_add
from tests.enrollment.batch.test_batch import agent, good_row, upload, workbook_bytes  # noqa: F401

pytestmark = pytest.mark.django_db


def queued(agent):  # noqa: F811
    """An upload whose task message was never delivered (as while the broker is down)."""
    rows = [good_row("甲"), good_row("乙")]
    return batch_import_create(agent=agent, file=upload(workbook_bytes(rows)))


def test_an_import_whose_worker_died_is_run_again_and_files_each_row_once(agent):  # noqa: F811
    batch = queued(agent)
    long_ago = timezone.now() - datetime.timedelta(hours=1)
    BatchImport.objects.filter(pk=batch.pk).update(
        status=BatchImport.Status.RUNNING, heartbeat_at=long_ago
    )
    assert batch_imports_requeue_stuck() == 1
    batch.refresh_from_db()
    assert batch.status == BatchImport.Status.DONE and batch.created_count == 2
    assert AddEmployeeFiling.objects.filter(employer=agent.employer).count() == 2
    assert batch_imports_requeue_stuck() == 0


def test_a_live_import_is_neither_requeued_nor_run_twice(agent, monkeypatch):  # noqa: F811
    batch = queued(agent)
    BatchImport.objects.filter(pk=batch.pk).update(
        status=BatchImport.Status.RUNNING, heartbeat_at=timezone.now()
    )
    sent = []
    monkeypatch.setattr(import_batch_add, "delay", lambda pk: sent.append(pk))
    assert batch_imports_requeue_stuck() == 0 and sent == []
    # A redelivered message finds the import running with a fresh heartbeat and leaves it.
    assert batch_process(batch.pk).status == BatchImport.Status.RUNNING
    assert not AddEmployeeFiling.objects.exists()


def test_an_upload_never_started_is_queued_after_a_grace_period(agent, monkeypatch):  # noqa: F811
    batch = queued(agent)
    sent = []
    monkeypatch.setattr(import_batch_add, "delay", lambda pk: sent.append(pk))
    assert batch_imports_requeue_stuck() == 0  # just uploaded: its message may be on its way
    later = timezone.now() + datetime.timedelta(minutes=3)
    assert batch_imports_requeue_stuck(now=later) == 1 and sent == [batch.pk]
