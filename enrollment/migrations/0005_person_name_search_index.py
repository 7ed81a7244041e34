"""A narrow covering index for the roster's search by part of a name (PostgreSQL only).

A two-character Chinese name is matched with LIKE '%王伟%', which neither a b-tree nor pg_trgm
(three characters at least) can seek: the scan is unavoidable, but scanning (name, id) in an
index-only scan reads ~500 pages where the person table, wide with encrypted columns, is ~4,600
(bench/roster.py, 125,000 persons: 36 ms → 25 ms, page median 88 → 47 ms). SQLite has no
INCLUDE; the embedded default goes without.
"""

from django.db import migrations

CREATE = (
    'CREATE INDEX IF NOT EXISTS person_name_search ON "enrollment_person" ("name") INCLUDE ("id")'
)


def create_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE)


def drop_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP INDEX IF EXISTS person_name_search")


class Migration(migrations.Migration):
    dependencies = [("enrollment", "0004_enrolment_insurance_mask")]

    operations = [migrations.RunPython(create_index, drop_index)]
