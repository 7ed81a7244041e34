"""manage.py cleanup_orphan_files: delete enrolment files that no row refers to."""

from django.core.management.base import BaseCommand, CommandError

from enrollment.orphans import MIN_AGE_HOURS, PREFIXES, cleanup_orphan_files


class Command(BaseCommand):
    help = (
        "Delete files under the enrolment storage prefixes ("
        + ", ".join(f"{prefix}/" for prefix in PREFIXES)
        + ") that no row refers to and that are older than the threshold."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--older-than-hours",
            type=float,
            default=24,
            help=f"only files older than this (default 24, at least {MIN_AGE_HOURS})",
        )
        parser.add_argument(
            "--dry-run", action="store_true", help="count what would be deleted, delete nothing"
        )

    def handle(self, *args, older_than_hours, dry_run, **options):
        try:
            result = cleanup_orphan_files(older_than_hours=older_than_hours, dry_run=dry_run)
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        # Counts only: file names hold unit ids, and no personal data is ever printed.
        verb = "would delete" if dry_run else "deleted"
        done = result.orphaned if dry_run else result.deleted
        self.stdout.write(
            f"scanned {result.scanned} files: {result.referenced} referenced, "
            f"{result.too_recent} younger than {older_than_hours:g} h, "
            f"{result.orphaned} orphaned; {verb} {done}"
            + (f", {result.failed} could not be deleted" if result.failed else "")
        )
