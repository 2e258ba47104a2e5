from datetime import timedelta
from decimal import Decimal

import factory
from django.contrib.auth import get_user_model
from django.utils import timezone

from customers.models import Customer, CustomerLink
from integrations.models import Connection, Environment, System
from payments.models import Invoice, Transaction


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda o: f"{o.username}@example.com")
    password = factory.PostGenerationMethodCall("set_password", "pass-word-123")
    is_staff = True


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
