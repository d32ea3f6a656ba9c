from django.db import migrations

PLANS = [
    ("free", "Free", 100),
    ("start", "Start", 1_000),
    ("pro", "Pro", 10_000),
    ("business", "Business", 100_000),
    ("unlimited", "Unlimited", None),
]


def seed(apps, schema_editor):
    Plan = apps.get_model("accounts", "Plan")
    for order, (name, title, limit) in enumerate(PLANS):
        Plan.objects.update_or_create(
            name=name, defaults={"title": title, "monthly_order_limit": limit, "sort_order": order}
        )


class Migration(migrations.Migration):
    dependencies = [("accounts", "0001_initial")]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
