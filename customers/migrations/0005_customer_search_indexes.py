import django.db.models.functions.text
from django.contrib.postgres.operations import TrigramExtension
from django.db import migrations, models

from portal.admin_lists.trigram import trigram_indexes


class Migration(migrations.Migration):
    """Finding a customer by email (as iexact compares it), and by name or company through trigram
    indexes; pg_trgm is created on PostgreSQL only (a no-op on SQLite)."""

    dependencies = [("customers", "0004_customer_merged_erp_ids")]

    operations = [
        migrations.AddIndex(
            model_name="customer",
            index=models.Index(
                django.db.models.functions.text.Upper("email"), name="customer_email_upper_idx"
            ),
        ),
        TrigramExtension(),
        trigram_indexes(table="customers_customer", columns=["name", "company"]),
    ]
