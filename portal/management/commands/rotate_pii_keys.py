"""Re-encrypt personal data made with an old key, and optionally recompute blind indexes."""

from __future__ import annotations

from cryptography.exceptions import InvalidTag
from django.apps import apps
from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import BaseCommand, CommandError
from django.db import models, transaction
from django.db.models.functions import Cast

from portal.audit import audit_log
from portal.crypto import (
    BlindIndexField,
    EncryptedTextField,
    blind_index,
    decrypt,
    encryption_keys,
    envelope_key_id,
)


def _raw(name: str) -> str:
    return f"_raw_{name}"


class Command(BaseCommand):
    help = (
        "Re-encrypt every EncryptedTextField value whose envelope names a key other than the "
        "first one in PII_ENCRYPTION_KEYS (keep the old keys listed until this has run). "
        "With --reindex, also recompute every BlindIndexField (after PII_INDEX_KEY changed)."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--reindex",
            action="store_true",
            help="Recompute every blind index from the decrypted value under PII_INDEX_KEY.",
        )
        parser.add_argument("--batch-size", type=int, default=500)
        parser.add_argument(
            "--dry-run", action="store_true", help="Count the rows to change; write nothing."
        )

    def handle(self, *args, reindex=False, batch_size=500, dry_run=False, **options):
        if batch_size < 1:
            raise CommandError("--batch-size must be at least 1")
        current_key_id = encryption_keys()[0][0]
        verb = "待更新" if dry_run else "已更新"
        counts: dict[str, int] = {}
        for model in apps.get_models():
            meta = model._meta
            if meta.proxy or not meta.managed:
                continue
            # Local fields only: a multi-table child shares its parent's columns, done once.
            encrypted = [f for f in meta.local_concrete_fields if isinstance(f, EncryptedTextField)]
            indexes = [f for f in meta.local_concrete_fields if isinstance(f, BlindIndexField)]
            if not encrypted and not (reindex and indexes):
                continue
            changed = self._rotate_model(
                model,
                encrypted=encrypted,
                indexes=indexes if reindex else [],
                current_key_id=current_key_id,
                batch_size=batch_size,
                dry_run=dry_run,
            )
            counts[meta.label] = changed
            self.stdout.write(f"{meta.label}: {changed} 行{verb}")
        total = sum(counts.values())
        if not dry_run:
            audit_log(
                action="pii_keys_rotated",
                details={"key_id": current_key_id, "reindex": reindex, "rows": counts},
            )
        self.stdout.write(
            self.style.SUCCESS(f"完成:当前密钥 {current_key_id},共 {total} 行{verb}。")
        )

    def _rotate_model(self, model, *, encrypted, indexes, current_key_id, batch_size, dry_run):
        """Rewrite the rows of one model in primary-key batches; return how many changed."""
        manager = model._base_manager
        pk_name = model._meta.pk.attname
        # The encrypted columns are read raw (cast to plain text, so the field does not decrypt
        # them): the envelope names the key that made it.
        raw_columns = {_raw(f.name): Cast(f.attname, models.TextField()) for f in encrypted}
        plain_sources = sorted({f.source for f in indexes} - {f.name for f in encrypted})
        columns = [pk_name, *raw_columns, *plain_sources, *(f.attname for f in indexes)]
        changed = 0
        last_pk = None
        while True:
            with transaction.atomic():
                queryset = manager.annotate(**raw_columns).order_by(pk_name)
                if last_pk is not None:
                    queryset = queryset.filter(pk__gt=last_pk)
                # Locked until the batch is written, so that a concurrent edit is not overwritten
                # with the value read here (a no-op on SQLite, which locks the whole file).
                rows = list(queryset.select_for_update().values(*columns)[:batch_size])
                if not rows:
                    break
                for row in rows:
                    try:
                        updates = self._row_updates(
                            row, encrypted=encrypted, indexes=indexes, current_key_id=current_key_id
                        )
                    except (ImproperlyConfigured, InvalidTag, ValueError) as exc:
                        raise CommandError(
                            f"{model._meta.label} pk={row[pk_name]}: cannot decrypt ({exc!r})"
                        ) from exc
                    if updates:
                        changed += 1
                        if not dry_run:
                            manager.filter(pk=row[pk_name]).update(**updates)
                last_pk = rows[-1][pk_name]
        return changed

    def _row_updates(self, row, *, encrypted, indexes, current_key_id) -> dict:
        """Return the field values to write for one row (plain values: the field encrypts)."""
        updates = {}
        plain = {name: row[name] for name in row if not name.startswith("_raw_")}
        for field in encrypted:
            envelope = row[_raw(field.name)]
            if envelope is None or envelope == "":
                plain[field.name] = envelope
                continue
            plain[field.name] = decrypt(envelope)
            if envelope_key_id(envelope) != current_key_id:
                updates[field.name] = plain[field.name]
        for field in indexes:
            source = plain[field.source]
            value = blind_index(field.kind, source) if source else (None if field.null else "")
            if value != row[field.attname]:
                updates[field.attname] = value
        return updates
