from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("events", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="eventrecord",
            name="ingest_tag",
            field=models.BigIntegerField(blank=True, editable=False, null=True),
        ),
    ]
