# Indexes for the dashboard's order list filters.

from django.db import migrations, models

# Text search (orderreport/orders/queries.py, SearchText) compares
# UPPER((external_id || ' ' || username || ' ' || email || ' ' || phone)::text) LIKE '%...%'.
# A trigram GIN index on exactly that expression lets PostgreSQL find rare matches without
# reading every order of the project. PostgreSQL only (pg_trgm is a "trusted" extension since
# PostgreSQL 13, so the database owner may create it); SQLite keeps scanning the project's
# rows, which is fine at the sizes SQLite serves. The index is not in the model state because
# Django cannot express it portably; the expression in queries.py must stay identical.
TRGM_INDEX = (
    "CREATE INDEX IF NOT EXISTS order_search_trgm ON orders_order USING gin "
    "((UPPER((external_id || ' ' || username || ' ' || email || ' ' || phone)::text)) "
    "gin_trgm_ops)"
)


def add_trigram_index(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    schema_editor.execute(TRGM_INDEX)


def drop_trigram_index(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("DROP INDEX IF EXISTS order_search_trgm")


class Migration(migrations.Migration):

    dependencies = [
        ('orders', '0001_initial'),
        ('projects', '0001_initial'),
    ]

    operations = [
        migrations.AddIndex(
            model_name='order',
            index=models.Index(fields=['project', 'currency', '-received_at', '-id'], name='order_project_currency'),
        ),
        migrations.RunPython(add_trigram_index, drop_trigram_index),
    ]
