"""A trigram index for the clerk's search by part of a unit name (PostgreSQL only).

icontains on 100,000 units is a sequential scan (bench/review_queue.py: ~350 ms); pg_trgm's GIN
index on UPPER(name) serves Django's ``UPPER(name) LIKE UPPER('%term%')``, Chinese included.
Creating the extension needs the right privilege: without it the index is skipped with a warning
and search still works, only slower. SQLite (the embedded default) has no such index.
"""

import logging

from django.db import migrations, transaction

logger = logging.getLogger(__name__)

CREATE = (
    'CREATE INDEX IF NOT EXISTS employer_name_trgm ON "employers_employer" '
    'USING gin (UPPER("name"::text) gin_trgm_ops)'
)


def create_index(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    try:
        with transaction.atomic(using=schema_editor.connection.alias):
            schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
            schema_editor.execute(CREATE)
    except Exception as exc:  # noqa: BLE001 — no privilege for the extension: search still works
        logger.warning("trigram index on unit names not created: %s", exc)


def drop_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP INDEX IF EXISTS employer_name_trgm")


class Migration(migrations.Migration):
    dependencies = [("employers", "0006_open_queue_indexes")]

    operations = [migrations.RunPython(create_index, drop_index)]
