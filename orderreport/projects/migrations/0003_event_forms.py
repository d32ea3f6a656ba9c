import secrets

from django.db import migrations, models

import orderreport.projects.models


def fill_tokens(apps, schema_editor):
    Event = apps.get_model("projects", "Event")
    for event in Event.objects.filter(form_token__isnull=True).only("pk").iterator():
        Event.objects.filter(pk=event.pk).update(form_token="fh_" + secrets.token_urlsafe(24))


class Migration(migrations.Migration):
    dependencies = [("projects", "0002_api_key_kind")]

    operations = [
        # Event keys were unique per project; /f/<event_key> needs them unique everywhere
        # (12 random characters: an existing collision is not expected).
        migrations.AlterField(
            model_name="event",
            name="key",
            field=models.CharField(
                default=orderreport.projects.models.generate_event_key, max_length=64, unique=True
            ),
        ),
        migrations.AddField(
            model_name="event",
            name="form_token",
            field=models.CharField(max_length=64, null=True),
        ),
        migrations.RunPython(fill_tokens, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="event",
            name="form_token",
            field=models.CharField(
                default=orderreport.projects.models.generate_form_token, max_length=64, unique=True
            ),
        ),
    ]
