"""Rows stored before card numbers were masked on the way in: mask them in place.

Every text an outside system or a storefront wrote (PayTrace, the ERPs, the order API, webhooks, their
errors) is masked and every JSON copy of theirs redacted, as the code now does before storing. A row is
written only when something in it changes. The audit trail is left as it was written."""

from django.db import migrations

from portal.pci import card_numbers_mask, redact

# model: (text fields, JSON fields)
STORED_TEXT = {
    "integrations.WebhookEvent": (("event_id", "last_error"), ("payload", "headers")),
    "integrations.ErpPosting": (("last_error",), ()),
    "integrations.ErpPostingAttempt": (("error_message",), ("request", "response")),
    "integrations.Alert": (("title", "message"), ()),
    "integrations.SyncCursor": (("last_error",), ()),
    "payments.Transaction": (("description", "billing_name", "status_message", "invoice_reference"), ("raw",)),
    "payments.Invoice": ((), ("raw",)),
    "payments.SettlementBatch": ((), ("raw",)),
    "payments.Order": (("status_reason",), ("request_body",)),
    "payments.OrderLine": (("description",), ()),
    "payments.OrderEvent": (("reason",), ()),
    "payments.SubscriptionCharge": (("last_error",), ()),
    "customers.Customer": (
        (
            "name", "name_normalized", "email", "email_normalized", "phone", "address_line1", "address_line2",
            "city", "state", "postal_code",
        ),
        (),
    ),  # fmt: skip
    "customers.CustomerLink": ((), ("raw",)),
}
BATCH = 500


def stored_card_numbers_mask(apps, schema_editor):
    for label, (texts, documents) in STORED_TEXT.items():
        model = apps.get_model(label)
        names = [*texts, *documents]
        changed = []
        for row in model.objects.only(*names).iterator(chunk_size=BATCH):
            before = [getattr(row, name) for name in names]
            for name in texts:
                setattr(row, name, card_numbers_mask(getattr(row, name)))
            for name in documents:
                setattr(row, name, redact(getattr(row, name)))
            if [getattr(row, name) for name in names] != before:
                changed.append(row)
            if len(changed) >= BATCH:
                model.objects.bulk_update(changed, names)
                changed = []
        model.objects.bulk_update(changed, names)


class Migration(migrations.Migration):
    dependencies = [
        ("integrations", "0006_webhookevent_body_sha256"),
        ("payments", "0004_transaction_risk_indexes"),
        ("customers", "0003_alter_customer_field_updated_at_and_more"),
    ]

    operations = [migrations.RunPython(stored_card_numbers_mask, migrations.RunPython.noop, elidable=True)]
