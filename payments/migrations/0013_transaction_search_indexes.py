from django.db import migrations

from portal.admin_lists.trigram import trigram_indexes


class Migration(migrations.Migration):
    """A trigram index for finding a transaction by its billing name (pg_trgm comes with customers')."""

    dependencies = [
        ("customers", "0005_customer_search_indexes"),
        ("payments", "0012_list_search_indexes"),
    ]

    operations = [trigram_indexes(table="payments_transaction", columns=["billing_name"])]
