from django.db import migrations, models
from django.db.models import Count, Sum


def fill_line_sums(apps, schema_editor):
    """Bills made before the field: their per (line month, type) sums, from their lines, in the
    form contributions.common.line_sums writes."""
    MonthlyBill = apps.get_model("contributions", "MonthlyBill")
    BillLine = apps.get_model("contributions", "BillLine")
    sums: dict[int, dict] = {}
    rows = (
        BillLine.objects.values("bill_id", "month", "insurance_type")
        .annotate(
            rows=Count("*"),
            base=Sum("base"),
            employer=Sum("employer_amount"),
            personal=Sum("personal_amount"),
        )
        .order_by()
    )
    for row in rows.iterator(chunk_size=10_000):
        sums.setdefault(row["bill_id"], {}).setdefault(row["month"].isoformat(), {})[
            row["insurance_type"]
        ] = [
            row["rows"],
            f"{row['base']:.2f}",
            f"{row['employer']:.2f}",
            f"{row['personal']:.2f}",
        ]
    MonthlyBill.objects.bulk_update(
        [MonthlyBill(pk=pk, line_sums=value) for pk, value in sums.items()],
        ["line_sums"],
        batch_size=500,
    )


class Migration(migrations.Migration):
    dependencies = [
        ("contributions", "0011_bill_line_position"),
    ]

    operations = [
        migrations.AddField(
            model_name="monthlybill",
            name="line_sums",
            field=models.JSONField(blank=True, default=dict, editable=False),
        ),
        migrations.RunPython(fill_line_sums, migrations.RunPython.noop),
    ]
