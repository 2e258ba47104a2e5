from django.urls import path

from simulators.sage300.views import web_api

urlpatterns = [
    path("Sage300WebApi/v1.0/-/<str:company>/<str:module>/<str:resource>", web_api, name="sage300_web_api"),
]
