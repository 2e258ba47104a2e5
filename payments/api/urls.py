from django.urls import path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from payments.api.views import (
    ApiPathUnknownApi,
    HealthApi,
    HealthLiveApi,
    OrderCreateApi,
    OrderDetailApi,
    TransactionDetailApi,
    TransactionRefundApi,
)

# Any id reaches its view, which answers a malformed one with the API's JSON 404 (never Django's HTML page);
# the schema documents the id patterns.
# The schema and its docs are static and, unless API_DOCS_PUBLIC, reached by authenticated callers only:
# no throttle, which would also read the shared cache (a database table) when the schema tests load the
# schema at collection, before any test database exists.
urlpatterns = [
    path("schema/", SpectacularAPIView.as_view(throttle_classes=[]), name="api-schema"),
    path(
        "docs/",
        SpectacularSwaggerView.as_view(url_name="api-schema", throttle_classes=[]),
        name="api-docs",
    ),
    path("v1/orders/", OrderCreateApi.as_view(), name="api-order-create"),
    re_path(r"^v1/orders/(?P<order_id>.+)/$", OrderDetailApi.as_view(), name="api-order"),
    re_path(
        r"^v1/transactions/(?P<transaction_id>[^/]+)/refund/$",
        TransactionRefundApi.as_view(),
        name="api-transaction-refund",
    ),
    re_path(
        r"^v1/transactions/(?P<transaction_id>.+)/$",
        TransactionDetailApi.as_view(),
        name="api-transaction",
    ),
    path("v1/health/", HealthApi.as_view(), name="api-health"),
    path("v1/health/live/", HealthLiveApi.as_view(), name="api-health-live"),
    # Last: every other /api/ path answers the JSON 404.
    re_path(r"^.*$", ApiPathUnknownApi.as_view(), name="api-path-unknown"),
]
