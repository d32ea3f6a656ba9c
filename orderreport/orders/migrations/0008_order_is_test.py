from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("orders", "0007_tallies"),
    ]

    operations = [
        # db_default: the column is added with its default in the catalogue (no table rewrite
        # on PostgreSQL 11+), and rows inserted without naming it are real orders.
        migrations.AddField(
            model_name="order",
            name="is_test",
            field=models.BooleanField(db_default=False, default=False, verbose_name="test"),
        ),
    ]
