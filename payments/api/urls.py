from django.urls import path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from payments.api.views import (
    ORDER_ID_PATTERN,
    TRANSACTION_ID_PATTERN,
    HealthApi,
    OrderCreateApi,
    OrderDetailApi,
    TransactionDetailApi,
)

urlpatterns = [
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("v1/orders/", OrderCreateApi.as_view(), name="api-order-create"),
    re_path(rf"^v1/orders/(?P<order_id>{ORDER_ID_PATTERN})/$", OrderDetailApi.as_view(), name="api-order"),
    re_path(
        rf"^v1/transactions/(?P<transaction_id>{TRANSACTION_ID_PATTERN})/$",
        TransactionDetailApi.as_view(),
        name="api-transaction",
    ),
    path("v1/health/", HealthApi.as_view(), name="api-health"),
]
