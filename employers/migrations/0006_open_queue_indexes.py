from django.db import migrations, models

OPEN = ["submitted", "prechecked", "pending", "resubmitted"]


class Migration(migrations.Migration):
    dependencies = [("employers", "0005_review_workflow")]

    operations = [
        migrations.AddIndex(
            model_name="registrationapplication",
            index=models.Index(
                condition=models.Q(review_state__in=OPEN),
                fields=["due_at", "id"],
                name="registration_open_due",
            ),
        ),
        migrations.AddIndex(
            model_name="registrationapplication",
            index=models.Index(
                condition=models.Q(review_state__in=OPEN),
                fields=["review_region", "due_at", "id"],
                name="registration_open_region",
            ),
        ),
    ]
