from django.urls import include, path
from django.views.generic import RedirectView

from integrations.webhook_api import PayTraceWebhookApi

urlpatterns = [
    path("", RedirectView.as_view(url="/admin/", permanent=False)),
    path("webhooks/paytrace/", PayTraceWebhookApi.as_view(), name="paytrace-webhook"),
    path("api/", include("payments.api.urls")),
]
