from django.urls import path

from bench.baseline.views import webhook

urlpatterns = [path("webhooks/paytrace/", webhook)]
