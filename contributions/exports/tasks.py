"""Celery tasks of the exports (contributions.tasks.export_*): run a large export, expire files."""

from celery import shared_task

__all__ = ["export_run", "exports_cleanup"]


@shared_task(name="contributions.tasks.export_run", ignore_result=True)
def export_run(job_id: int) -> None:
    """Write a queued export job's file; a job already started or finished is left alone."""
    from contributions.exports.services import export_job_run

    export_job_run(job_id=job_id)


@shared_task(name="contributions.tasks.exports_cleanup", ignore_result=True)
def exports_cleanup() -> None:
    """Delete the files of export jobs past their expiry."""
    from contributions.exports.services import export_jobs_cleanup

    export_jobs_cleanup()
