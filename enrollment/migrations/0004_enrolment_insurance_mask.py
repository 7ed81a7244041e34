# Enrolment.insurance_mask: insurance_codes as an indexed bitmask for the roster's insurance filter.

from django.db import migrations, models

import enrollment.models

# The bits as in enrollment.models.INSURANCE_BITS at the time of this migration.
BITS = {"110": 1, "210": 2, "310": 4, "410": 8, "510": 16}
BATCH = 2000


def _mask(codes) -> int:
    mask = 0
    for code in codes or ():
        mask |= BITS.get(str(code), 0)
    return mask


def fill_masks(apps, schema_editor):
    """Set the mask of every existing enrolment and history row from its insurance codes."""
    for model_name in ("Enrolment", "HistoricalEnrolment"):
        model = apps.get_model("enrollment", model_name)
        pk_name = model._meta.pk.attname
        rows = model.objects.order_by(pk_name).values_list(pk_name, "insurance_codes")
        by_mask: dict[int, list] = {}
        for pk, codes in rows.iterator(chunk_size=BATCH):
            by_mask.setdefault(_mask(codes), []).append(pk)
        for mask, pks in by_mask.items():
            if not mask:
                continue  # the column's default
            for start in range(0, len(pks), BATCH):
                model.objects.filter(**{f"{pk_name}__in": pks[start : start + BATCH]}).update(
                    insurance_mask=mask
                )


class Migration(migrations.Migration):
    dependencies = [
        ("employers", "0007_employer_name_trigram"),
        ("enrollment", "0003_open_queue_indexes"),
    ]

    operations = [
        migrations.RemoveIndex(
            model_name="enrolment",
            name="enrolment_roster",
        ),
        migrations.AddField(
            model_name="enrolment",
            name="insurance_mask",
            field=enrollment.models.InsuranceMaskField(
                default=0, editable=False, verbose_name="参保险种位图"
            ),
        ),
        migrations.AddField(
            model_name="historicalenrolment",
            name="insurance_mask",
            field=enrollment.models.InsuranceMaskField(
                default=0, editable=False, verbose_name="参保险种位图"
            ),
        ),
        migrations.RunPython(fill_masks, migrations.RunPython.noop, elidable=True),
        migrations.AddIndex(
            model_name="enrolment",
            index=models.Index(
                fields=["employer", "status", "insurance_mask"], name="enrolment_roster"
            ),
        ),
    ]
