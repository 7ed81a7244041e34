from django.db import migrations

FORMS = [
    ("11", "城镇合同制职工"),
    ("12", "农村合同制工人"),
    ("13", "劳务派遣"),
    ("14", "非全日制"),
    ("15", "临时工"),
    ("99", "其他"),
]

RULES = [
    {
        "employment_form_code": "14",
        "allowed_codes": ["410"],
        "required_codes": ["410"],
        "message": "非全日制从业人员由用人单位参加工伤保险,其他险种以个人身份参保",
    },
    {
        "employment_form_code": "",
        "allowed_codes": [],
        "required_codes": ["410"],
        "message": "用人单位应为职工参加工伤保险",
    },
]


def add_defaults(apps, schema_editor):
    EmploymentForm = apps.get_model("enrollment", "EmploymentForm")
    CouplingRule = apps.get_model("enrollment", "CouplingRule")
    for order, (code, name) in enumerate(FORMS):
        EmploymentForm.objects.get_or_create(
            region=None, code=code, defaults={"name": name, "sort_order": order}
        )
    if not CouplingRule.objects.exists():
        for rule in RULES:
            CouplingRule.objects.create(region=None, **rule)


class Migration(migrations.Migration):
    dependencies = [("enrollment", "0001_initial")]

    operations = [migrations.RunPython(add_defaults, migrations.RunPython.noop)]
