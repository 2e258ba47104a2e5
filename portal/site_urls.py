from django.urls import include, path
from django.views.generic import RedirectView

from integrations.views import paytrace_webhook

urlpatterns = [
    path("", RedirectView.as_view(url="/admin/", permanent=False)),
    path("webhooks/paytrace/", paytrace_webhook, name="paytrace-webhook"),
    path("api/", include("payments.api.urls")),
]
