from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("orders", "0003_order_project_no_extra_index"),
    ]

    operations = [
        migrations.AddField(
            model_name="order",
            name="ingest_tag",
            field=models.BigIntegerField(blank=True, editable=False, null=True),
        ),
    ]
