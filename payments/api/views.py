"""The storefront API: one view per operation, each with its own input and output serializers."""

import re
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db.models import Q
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_serializer,
)
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from integrations.callback_urls import CallbackUrlRefused, callback_url_check
from integrations.health import database_live, system_health
from integrations.models import CurrencyRate, ErpSystem, System
from integrations.sage.mapping import home_currency
from integrations.selectors import ConnectionMissing, connection_active_get, connections_active
from payments.api.errors import ApplicationError
from payments.api.fields import (
    CountryField,
    FreeTextEmailField,
    FreeTextField,
    PatternField,
    UnsignedDecimalField,
)
from payments.api.parsers import JsonBodyParser
from payments.api.permissions import HasApiPermission, HasMonitoringPermission
from payments.api.schema import COMMON_ERRORS, error
from payments.api.serializers import StrictSerializer
from payments.models import Order, Transaction
from payments.selectors.orders import order_view_get, transaction_view_get
from payments.services.orders import (
    ErpUnavailable,
    OrderConflict,
    OrderPaymentUnknown,
    OrderRejected,
    order_submit,
)
from payments.services.refunds import RefundRefused, RefundRequestConflict, transaction_refund_request
from portal.money import money_quantize

# Storefront order ids travel into every ERP's order reference (30 characters in X3 and Sage Pro).
ORDER_ID_PATTERN = r"[A-Za-z0-9][A-Za-z0-9._-]{0,29}"
TRANSACTION_ID_PATTERN = r"[0-9]{1,40}"
MONEY = {"max_digits": 14, "decimal_places": 2}


# What the docs offer to send: Swagger UI would otherwise make values up from the patterns.
ORDER_EXAMPLE = OpenApiExample(
    "An order paid by card",
    request_only=True,
    value={
        "order_id": "WEB-1001",
        "erp": "sage_300",
        "currency": "USD",
        "customer": {
            "email": "ap@acme-outdoor.example",
            "name": "Acme Outdoor Supply",
            "phone": "206-555-0101",
            "billing_address": {
                "line1": "100 Pike St",
                "city": "Seattle",
                "state": "WA",
                "postal_code": "98101",
                "country": "US",
            },
        },
        "lines": [
            {"sku": "TENT-2P", "description": "Two-person tent", "quantity": "2", "unit_price": "249.00"},
            {"sku": "STOVE-1", "description": "Camp stove", "quantity": "1", "unit_price": "64.99"},
        ],
        "total": "562.99",
        "paytrace_transaction_id": "1000123",
    },
)


def _text(max_length: int, **kwargs: Any) -> FreeTextField:
    return FreeTextField(max_length=max_length, required=False, allow_blank=True, default="", **kwargs)


@extend_schema_serializer(component_name="Address")
class AddressSerializer(StrictSerializer):
    line1 = _text(200)
    line2 = _text(200)
    city = _text(100)
    state = _text(40)
    postal_code = _text(20)
    country = CountryField(help_text="ISO 3166-1 alpha-2")


@extend_schema_serializer(component_name="PaymentSummary")
class PaymentSummarySerializer(serializers.Serializer):
    transaction_id = serializers.CharField(source="transaction.transaction_id")
    status = serializers.CharField(source="transaction.status")
    amount = serializers.DecimalField(source="transaction.amount", **MONEY)
    currency = serializers.CharField(source="transaction.currency")
    amount_applied = serializers.DecimalField(source="transaction.amount_applied", **MONEY)
    card_brand = serializers.CharField(source="transaction.card_brand")
    last4 = serializers.CharField(source="transaction.last4")
    held_for_review = serializers.BooleanField()
    receipt_status = serializers.CharField(source="receipt.status", allow_null=True, default=None)
    receipt_number = serializers.CharField(
        source="receipt.erp_document_number", allow_null=True, default=None
    )


class OrderOutputSerializer(serializers.Serializer):
    @extend_schema_serializer(component_name="OrderEvent")
    class EventSerializer(serializers.Serializer):
        status = serializers.CharField()
        reason = serializers.CharField()
        at = serializers.DateTimeField(source="created_at")

    @extend_schema_serializer(component_name="OrderLine")
    class LineSerializer(serializers.Serializer):
        line_number = serializers.IntegerField()
        sku = serializers.CharField()
        description = serializers.CharField()
        quantity = serializers.DecimalField(max_digits=12, decimal_places=3)
        unit_price = serializers.DecimalField(**MONEY)
        amount = serializers.DecimalField(**MONEY)
        category = serializers.CharField()
        gl_account = serializers.CharField(help_text="Revenue account, once the sales order is built")

    order_id = serializers.CharField(source="order.order_id")
    status = serializers.ChoiceField(source="order.status", choices=Order.Status.choices)
    status_reason = serializers.CharField(source="order.status_reason")
    erp = serializers.CharField(source="order.erp_connection.system")
    erp_order_number = serializers.CharField(source="order.erp_order_number")
    currency = serializers.CharField(source="order.currency")
    total = serializers.DecimalField(source="order.total", **MONEY)
    history = EventSerializer(source="order.events.all", many=True)
    lines = LineSerializer(source="order.lines.all", many=True)
    payment = PaymentSummarySerializer(allow_null=True)
    created_at = serializers.DateTimeField(source="order.created_at")
    updated_at = serializers.DateTimeField(source="order.updated_at")


OrderOutput = extend_schema_serializer(component_name="Order")(OrderOutputSerializer)


class OrderCreateApi(APIView):
    """Receive a storefront order; it then makes its way to the ERP and its payment to a receipt."""

    permission_classes = [HasApiPermission]
    parser_classes = [JsonBodyParser]  # an order is nested JSON: form encodings could not carry it
    required_permission = "payments.add_order"

    @extend_schema_serializer(component_name="OrderInput")
    class InputSerializer(StrictSerializer):
        @extend_schema_serializer(component_name="OrderCustomerInput")
        class CustomerSerializer(StrictSerializer):
            email = FreeTextEmailField(max_length=254)
            name = FreeTextField(max_length=200)
            phone = _text(40)
            billing_address = AddressSerializer()
            shipping_address = AddressSerializer(required=False)

        @extend_schema_serializer(component_name="OrderLineInput")
        class LineSerializer(StrictSerializer):
            sku = PatternField(r"^[A-Za-z0-9][A-Za-z0-9._/-]{0,19}$", help_text="The ERP's item")
            description = _text(255)
            quantity = UnsignedDecimalField(max_digits=12, decimal_places=3, min_value=Decimal("0.001"))
            unit_price = UnsignedDecimalField(min_value=Decimal("0"), **MONEY)
            category = PatternField(
                r"^[A-Za-z0-9][A-Za-z0-9 ._/-]{0,39}$",
                required=False,
                help_text="The product category; GL rules keyed on it give the line's revenue account",
            )

        order_id = PatternField(rf"^{ORDER_ID_PATTERN}$", help_text="The storefront's order id")
        erp = serializers.ChoiceField(choices=ErpSystem.choices)
        currency = PatternField(r"^[A-Z]{3}$", help_text="ISO 4217, upper case")
        customer = CustomerSerializer()
        lines = LineSerializer(many=True, allow_empty=False, max_length=500)
        total = UnsignedDecimalField(
            min_value=Decimal("0"),
            required=False,
            help_text="If sent, must equal the sum of the lines",
            **MONEY,
        )
        paytrace_transaction_id = PatternField(rf"^{TRANSACTION_ID_PATTERN}$", required=False)
        invoice_number = _text(60, help_text="The ERP invoice the payment should be applied to")
        callback_url = serializers.URLField(
            max_length=500,
            required=False,
            help_text="Each status change of the order is POSTed here, signed like our PayTrace webhook"
            " (https to a public host in production)",
        )

        def validate_callback_url(self, value: str) -> str:
            try:
                callback_url_check(value, production=settings.PRODUCTION_LIKE)
            except CallbackUrlRefused as exc:
                raise serializers.ValidationError(f"Callback URL {exc}.") from exc
            return value

        def validate_erp(self, value: str) -> str:
            try:
                self.erp_connection = connection_active_get(system=value)
            except ConnectionMissing as exc:
                raise serializers.ValidationError(f"No active {value} connection: {exc}.") from exc
            return value

        def validate(self, data: dict[str, Any]) -> dict[str, Any]:
            currency, erp = data["currency"], data["erp"]
            known = (
                currency == home_currency(erp=erp)
                or CurrencyRate.objects.filter(Q(from_currency=currency) | Q(to_currency=currency)).exists()
            )
            if not known:
                raise serializers.ValidationError(
                    {"currency": [f"No rate or home currency {currency} for {erp}."]}
                )
            line_errors = {
                str(index): {"unit_price": [f"{currency} has fewer decimal places."]}
                for index, line in enumerate(data["lines"])
                if money_quantize(line["unit_price"], currency) != line["unit_price"]
            }
            if line_errors:
                raise serializers.ValidationError({"lines": line_errors})
            total = sum(
                (money_quantize(line["quantity"] * line["unit_price"], currency) for line in data["lines"]),
                Decimal(0),
            )
            if total >= Decimal(10) ** 12:
                raise serializers.ValidationError({"lines": ["The order total is too large."]})
            if "total" in data and data["total"] != total:
                raise serializers.ValidationError(
                    {"total": [f"The lines add up to {total}, not {data['total']}."]}
                )
            return data

        def canonical(self) -> dict[str, Any]:
            """The body that makes an order the same order: the total is only a check, so it is left out."""
            body = {key: value for key, value in self.validated_data.items() if key != "total"}
            body.setdefault("paytrace_transaction_id", "")
            body["customer"].setdefault("shipping_address", None)
            return body

    @extend_schema(
        operation_id="order_create",
        request=InputSerializer,
        responses={
            201: OpenApiResponse(OrderOutput, description="Received; the order's state"),
            200: OpenApiResponse(
                OrderOutput,
                description="This order id was already received with this same body: its current state",
            ),
            400: error("A field is missing or wrong; `fields` names each with its messages"),
            409: error("This order id was already received with a different body"),
            422: error("PayTrace has no transaction `paytrace_transaction_id`; nothing was stored"),
            503: error(
                "The ERP (about the items) or PayTrace (about the payment) could not be asked; nothing was"
                " stored, retry later"
            ),
            **COMMON_ERRORS,
        },
        examples=[ORDER_EXAMPLE],
    )
    def post(self, request: Request) -> Response:
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            submission = order_submit(body=serializer.canonical(), erp_connection=serializer.erp_connection)
        except OrderConflict as exc:
            raise ApplicationError(str(exc), code="conflict", status_code=status.HTTP_409_CONFLICT) from exc
        except OrderRejected as exc:
            raise ApplicationError(str(exc), code="invalid", extra={"fields": exc.fields}) from exc
        except OrderPaymentUnknown as exc:
            raise ApplicationError(
                str(exc),
                code="unknown_payment",
                status_code=status.HTTP_422_UNPROCESSABLE_ENTITY,
                extra={"fields": {"paytrace_transaction_id": [str(exc)]}},
            ) from exc
        except ErpUnavailable as exc:
            raise ApplicationError(
                str(exc), code="erp_unavailable", status_code=status.HTTP_503_SERVICE_UNAVAILABLE
            ) from exc
        view = order_view_get(order_id=submission.order.order_id)
        return Response(
            OrderOutput(view).data,
            status=status.HTTP_201_CREATED if submission.created else status.HTTP_200_OK,
        )


class OrderDetailApi(APIView):
    permission_classes = [HasApiPermission]
    required_permission = "payments.view_order"

    @extend_schema(
        operation_id="order_retrieve",
        parameters=[
            OpenApiParameter("order_id", str, OpenApiParameter.PATH, pattern=f"^{ORDER_ID_PATTERN}$")
        ],
        responses={200: OrderOutput, 404: error("No order with this id"), **COMMON_ERRORS},
    )
    def get(self, request: Request, order_id: str) -> Response:
        view = order_view_get(order_id=order_id) if re.fullmatch(ORDER_ID_PATTERN, order_id) else None
        if view is None:
            raise NotFound(f"No order {order_id}.")
        return Response(OrderOutput(view).data)


class TransactionDetailApi(APIView):
    permission_classes = [HasApiPermission]
    required_permission = "payments.view_transaction"

    @extend_schema_serializer(component_name="Transaction")
    class OutputSerializer(serializers.Serializer):
        @extend_schema_serializer(component_name="ErpDocument")
        class PostingSerializer(serializers.Serializer):
            erp = serializers.CharField(source="connection.system")
            document_type = serializers.CharField()
            reference = serializers.CharField()
            status = serializers.CharField()
            erp_document_number = serializers.CharField()
            error = serializers.CharField(source="last_error")

        @extend_schema_serializer(component_name="InvoiceApplication")
        class ApplicationSerializer(serializers.Serializer):
            invoice_number = serializers.CharField(source="invoice.invoice_number")
            amount = serializers.DecimalField(**MONEY)
            currency = serializers.CharField()
            rule = serializers.CharField()
            reversed_at = serializers.DateTimeField(allow_null=True)

        transaction_id = serializers.CharField(source="transaction.transaction_id")
        type = serializers.CharField(source="transaction.transaction_type")
        status = serializers.CharField(source="transaction.status")
        payment_method = serializers.CharField(source="transaction.payment_method")
        amount = serializers.DecimalField(source="transaction.amount", **MONEY)
        currency = serializers.CharField(source="transaction.currency")
        amount_refunded = serializers.DecimalField(source="transaction.amount_refunded", **MONEY)
        amount_applied = serializers.DecimalField(source="transaction.amount_applied", **MONEY)
        card_brand = serializers.CharField(source="transaction.card_brand")
        last4 = serializers.CharField(source="transaction.last4")
        order_id = serializers.CharField(source="transaction.order.order_id", allow_null=True, default=None)
        occurred_at = serializers.DateTimeField(source="transaction.occurred_at")
        held_for_review = serializers.BooleanField()
        erp_documents = PostingSerializer(source="postings", many=True)
        applications = ApplicationSerializer(many=True)

    @extend_schema(
        operation_id="transaction_retrieve",
        parameters=[
            OpenApiParameter(
                "transaction_id", str, OpenApiParameter.PATH, pattern=f"^{TRANSACTION_ID_PATTERN}$"
            )
        ],
        responses={
            200: OutputSerializer,
            404: error("No PayTrace transaction with this id"),
            **COMMON_ERRORS,
        },
    )
    def get(self, request: Request, transaction_id: str) -> Response:
        known = re.fullmatch(TRANSACTION_ID_PATTERN, transaction_id)
        view = transaction_view_get(transaction_id=transaction_id) if known else None
        if view is None:
            raise NotFound(f"No transaction {transaction_id}.")
        return Response(self.OutputSerializer(view).data)


class TransactionRefundApi(APIView):
    """Refund (after settlement) or void (before) a PayTrace sale, as the admin's refund action does."""

    permission_classes = [HasApiPermission]
    required_permission = "payments.change_transaction"
    parser_classes = [JsonBodyParser]

    @extend_schema_serializer(component_name="RefundRequest")
    class InputSerializer(StrictSerializer):
        request_id = PatternField(
            r"^[A-Za-z0-9._:-]{1,60}$",
            help_text="Your id for this request: sending it again answers with the first result, once.",
        )
        amount = UnsignedDecimalField(
            **MONEY, min_value=Decimal("0.01"), required=False, allow_null=True, default=None,
            help_text="Omit to refund all that remains (or to void an unsettled sale).",
        )  # fmt: skip
        reason = FreeTextField(max_length=255)

    @extend_schema(
        operation_id="transaction_refund",
        request=InputSerializer,
        parameters=[
            OpenApiParameter(
                "transaction_id", str, OpenApiParameter.PATH, pattern=f"^{TRANSACTION_ID_PATTERN}$"
            )
        ],
        responses={
            201: OpenApiResponse(TransactionDetailApi.OutputSerializer, description="Refunded or voided now"),
            200: OpenApiResponse(
                TransactionDetailApi.OutputSerializer, description="This request_id, done before"
            ),
            400: error("The request is not valid"),
            404: error("No PayTrace transaction with this id"),
            409: error(
                "The refund cannot be made as asked (amount left, status, PayTrace's answer), or this"
                " request_id was used for another refund"
            ),
            **COMMON_ERRORS,
        },
        examples=[
            OpenApiExample(
                "Refund part of a sale",
                value={"request_id": "RF-1001-1", "amount": "25.00", "reason": "One item returned"},
                request_only=True,
            )
        ],
    )
    def post(self, request: Request, transaction_id: str) -> Response:
        sale = (
            Transaction.objects.filter(
                transaction_id=transaction_id, connection__in=connections_active(system=System.PAYTRACE)
            ).first()
            if re.fullmatch(TRANSACTION_ID_PATTERN, transaction_id)
            else None
        )
        if sale is None:
            raise NotFound(f"No transaction {transaction_id}.")
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            outcome, made_now = transaction_refund_request(
                transaction=sale, actor=request.user, **data.validated_data
            )
        except RefundRequestConflict as conflict:
            raise ApplicationError(str(conflict), code="conflict", status_code=409) from conflict
        except RefundRefused as refused:
            raise ApplicationError(str(refused), code="refund_refused", status_code=409) from refused
        view = transaction_view_get(transaction_id=outcome.transaction_id)
        return Response(
            TransactionDetailApi.OutputSerializer(view).data,
            status=status.HTTP_201_CREATED if made_now else status.HTTP_200_OK,
        )


def _health_response(data: dict[str, Any], *, healthy: bool) -> Response:
    """200 or 503: the status is what monitors and load balancers read first."""
    return Response(data, status=status.HTTP_200_OK if healthy else status.HTTP_503_SERVICE_UNAVAILABLE)


class HealthApi(APIView):
    """For operators: each check's status and a short classified reason, never what a system answered."""

    permission_classes = [HasMonitoringPermission]
    monitoring_permission = "integrations.view_health"

    @extend_schema_serializer(component_name="Health")
    class OutputSerializer(serializers.Serializer):
        @extend_schema_serializer(component_name="HealthCheck")
        class CheckSerializer(serializers.Serializer):
            name = serializers.CharField(help_text="database, broker, or the connection's name")
            system = serializers.CharField(help_text="The connection's system; blank for ours")
            ok = serializers.BooleanField()
            reason = serializers.CharField(
                help_text="ok, unreachable, authentication refused, credentials missing, "
                "unexpected answer (HTTP nnn), TLS error (certificate not trusted)…"
            )

        ok = serializers.BooleanField()
        checks = CheckSerializer(many=True)

    @extend_schema(
        operation_id="health_retrieve",
        description="Needs the `integrations.view_health` permission (never a storefront's).",
        responses={
            200: OpenApiResponse(OutputSerializer, description="Everything answered"),
            503: OpenApiResponse(OutputSerializer, description="Something did not answer: see `checks`"),
            **COMMON_ERRORS,
        },
    )
    def get(self, request: Request) -> Response:
        checks = system_health()
        ok = all(check.ok for check in checks)
        return _health_response(self.OutputSerializer({"ok": ok, "checks": checks}).data, healthy=ok)


class HealthLiveApi(APIView):
    """For load balancers: up while the database answers. No token, and nothing said but up or down."""

    authentication_classes: list = []  # a stray Authorization header must not turn this into a 401
    permission_classes: list = []
    # Unthrottled: behind a proxy every anonymous caller shares one budget, and a flood must not make the
    # balancer take the node out.
    throttle_classes: list = []

    @extend_schema_serializer(component_name="Liveness")
    class OutputSerializer(serializers.Serializer):
        status = serializers.ChoiceField(choices=["up", "down"])

    @extend_schema(
        operation_id="health_live",
        responses={
            200: OpenApiResponse(OutputSerializer, description="Up: the database answers"),
            503: OpenApiResponse(OutputSerializer, description="Down"),
        },
    )
    def get(self, request: Request) -> Response:
        up = database_live()
        return _health_response(self.OutputSerializer({"status": "up" if up else "down"}).data, healthy=up)


@extend_schema(exclude=True)
class ApiPathUnknownApi(APIView):
    """Any /api/ path no operation answers, whatever the method: the API's JSON 404, never Django's HTML
    page (nor the slash-appending redirect, which a POST cannot follow)."""

    authentication_classes: list = []
    permission_classes: list = []

    def http_method_not_allowed(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        raise NotFound("No API operation at this path: see /api/docs/.")

    options = http_method_not_allowed
