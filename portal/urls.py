from django.conf import settings
from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("", include("portal.site_urls")),
]

# /api/ callers get the API's JSON error shape from Django's own error pages too.
handler400 = "payments.api.errors.bad_request"
handler500 = "payments.api.errors.server_error"

if settings.SANDBOX:
    urlpatterns.append(path("sandbox/", include("simulators.urls")))
