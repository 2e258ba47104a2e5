from datetime import timedelta
from decimal import Decimal

import factory
from django.contrib.auth import get_user_model
from django.utils import timezone
from django_q.signing import SignedPackage

from customers.models import Customer, CustomerLink
from integrations.models import Connection, Environment, System
from payments.models import Invoice, Transaction


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda o: f"{o.username}@example.com")
    is_staff = True

    @factory.post_generation
    def password(self, create, extracted, **kwargs):
        self.set_password(extracted or "pass-word-123")
        if create:
            self.save(update_fields=["password"])


class ConnectionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Connection

    name = factory.Sequence(lambda n: f"connection-{n}")
    system = System.PAYTRACE
    environment = Environment.DEV
    base_url = "http://127.0.0.1:8000/sandbox/paytrace"
    credentials = factory.LazyFunction(lambda: {"username": "demo", "password": "demo-password"})
    options = factory.LazyFunction(dict)


class CustomerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Customer

    name = factory.Faker("name")
    email = factory.LazyAttribute(lambda o: f"{o.name.lower().replace(' ', '.')}@example.com")
    postal_code = "98101"
    country = "US"


class CustomerLinkFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CustomerLink

    customer = factory.SubFactory(CustomerFactory)
    connection = factory.SubFactory(ConnectionFactory)
    external_id = factory.Sequence(lambda n: f"CUST{n:05d}")


class TransactionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Transaction

    connection = factory.SubFactory(ConnectionFactory)
    transaction_id = factory.Sequence(lambda n: str(100000 + n))
    transaction_type = Transaction.Type.SALE
    status = Transaction.Status.APPROVED
    amount = Decimal("100.00")
    currency = "USD"
    card_brand = "VISA"
    last4 = "5439"
    occurred_at = factory.LazyFunction(timezone.now)


class InvoiceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Invoice

    connection = factory.SubFactory(ConnectionFactory, system=System.SAGE_300)
    invoice_number = factory.Sequence(lambda n: f"IN{n:06d}")
    customer = factory.SubFactory(CustomerFactory)
    amount = Decimal("100.00")
    balance = factory.SelfAttribute("amount")
    issued_on = factory.LazyFunction(lambda: timezone.now().date() - timedelta(days=10))
    due_on = factory.LazyFunction(lambda: timezone.now().date() + timedelta(days=20))


class OrderFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "payments.Order"

    order_id = factory.Sequence(lambda n: f"WEB-{n:05d}")
    erp_connection = factory.SubFactory(ConnectionFactory, system=System.SAGE_300)
    customer = factory.SubFactory(CustomerFactory)
    currency = "USD"
    total = Decimal("100.00")
    request_hash = factory.Sequence(lambda n: f"{n:064d}")


class ErpPostingFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "integrations.ErpPosting"

    connection = factory.SubFactory(ConnectionFactory, system=System.SAGE_300)
    document_type = "receipt"
    reference = factory.Sequence(lambda n: f"PT-{n}")
    transaction = factory.SubFactory(TransactionFactory)


class WebhookEventFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "integrations.WebhookEvent"

    event_id = factory.Sequence(lambda n: f"evt_{n}")
    event_type = "transaction.success"
    payload = factory.LazyFunction(lambda: {"data": {}})


class SettlementBatchFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "payments.SettlementBatch"

    connection = factory.SubFactory(ConnectionFactory)
    batch_number = factory.Sequence(lambda n: str(500 + n))
    settled_at = factory.LazyFunction(timezone.now)


class JournalEntryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "payments.JournalEntry"

    kind = "fees"
    reference = factory.Sequence(lambda n: f"JE-{n}")
    erp_connection = factory.SubFactory(ConnectionFactory, system=System.SAGE_300)
    entry_date = factory.LazyFunction(lambda: timezone.now().date())
    currency = "USD"


class SubscriptionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "payments.Subscription"

    customer = factory.SubFactory(CustomerFactory)
    paytrace_connection = factory.SubFactory(ConnectionFactory)
    paytrace_customer_id = factory.Sequence(lambda n: f"C{n:04d}")
    amount = Decimal("49.00")
    next_run_on = factory.LazyFunction(lambda: timezone.now().date())


class AuditEventFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "integrations.AuditEvent"

    actor = factory.SubFactory(UserFactory)
    action = "posting.replay"
    subject_type = "erp_posting"
    subject_id = factory.Sequence(str)


class QueueTaskFactory(factory.django.DjangoModelFactory):
    """A task django-q2's cluster ran (a Success, or a Failure with `success=False`)."""

    class Meta:
        model = "django_q.Task"

    id = factory.Sequence(lambda n: f"{n:032x}")
    name = factory.Sequence(lambda n: f"task-{n}")
    func = "portal.tasks.cluster_probe"
    started = factory.LazyFunction(timezone.now)
    stopped = factory.LazyFunction(timezone.now)
    success = True


class QueuedTaskFactory(factory.django.DjangoModelFactory):
    """A task waiting in django-q2's ORM broker, its payload signed as the broker signs it."""

    class Meta:
        model = "django_q.OrmQ"

    key = "paysage"
    payload = factory.Sequence(
        lambda n: SignedPackage.dumps(
            {"id": f"q{n}", "name": f"queued-{n}", "func": "portal.tasks.cluster_probe", "args": ("x",)}
        )
    )
