"""Background work of enrolment filings (routed to the reviews queue by "enrollment.tasks.*")."""

from celery import shared_task


@shared_task(name="enrollment.tasks.registration_form_generate", ignore_result=True)
def registration_form_generate_task(filing_id: int) -> None:
    """Render and store a filing's 《新增参保人员登记表》; does nothing when it exists."""
    from enrollment.add.services import registration_form_generate

    registration_form_generate(filing_id=filing_id)


@shared_task(name="enrollment.tasks.import_batch_add", ignore_result=True)
def import_batch_add(batch_import_id: int) -> None:
    """Process an uploaded 批量增员 workbook (imports queue); a finished import is left alone."""
    from enrollment.batch.process import batch_process

    batch_process(batch_import_id)


@shared_task(name="enrollment.tasks.requeue_stuck_imports", ignore_result=True)
def requeue_stuck_imports() -> int:
    """Beat: queue again the imports whose worker died or whose message was never sent."""
    from enrollment.batch.process import batch_imports_requeue_stuck

    return batch_imports_requeue_stuck()


@shared_task(name="enrollment.tasks.filings_precheck", ignore_result=True)
def filings_precheck(model_label: str, pks: list[int]) -> None:
    """Run the pre-checks of filings submitted together, such as a batch chunk (one message)."""
    from portal.review import review_precheck

    for pk in pks:
        review_precheck(model_label=model_label, pk=pk)


@shared_task(name="enrollment.tasks.filings_precheck_and_forms", ignore_result=True)
def filings_precheck_and_forms(model_label: str, pks: list[int]) -> None:
    """The pre-checks, then the registration forms, of filings submitted together.

    One message where an add-employee filing sent two (portal.review.precheck and
    registration_form_generate, both on the reviews queue): a task costs the worker ~3 ms of CPU
    before its body runs. Both halves stay idempotent and independent: a form is still made
    when a pre-check fails, and a form that cannot be made is rendered by the download view.
    """
    from enrollment.add.services import registration_form_generate
    from portal.review import review_precheck

    try:
        for pk in pks:
            review_precheck(model_label=model_label, pk=pk)
    finally:
        for pk in pks:
            registration_form_generate(filing_id=pk)


@shared_task(name="enrollment.tasks.cleanup_orphan_files", ignore_result=True)
def cleanup_orphan_files_task(older_than_hours: float = 24) -> dict:
    """Daily (beat): delete enrolment files left without a row by rolled-back transactions."""
    from enrollment.orphans import cleanup_orphan_files

    return cleanup_orphan_files(older_than_hours=older_than_hours).as_dict()
