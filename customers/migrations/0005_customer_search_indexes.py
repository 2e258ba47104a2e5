from django.contrib.postgres.operations import TrigramExtension
from django.db import migrations

from portal.admin_lists.trigram import trigram_indexes


class Migration(migrations.Migration):
    """pg_trgm (a no-op on SQLite), and trigram indexes for finding a customer by name or company."""

    dependencies = [("customers", "0004_customer_merged_erp_ids")]

    operations = [
        TrigramExtension(),
        trigram_indexes(table="customers_customer", columns=["name", "company"]),
    ]
