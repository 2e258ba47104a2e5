from django.urls import path

from simulators.x3 import views

urlpatterns = [
    path("soap-generic/syracuse/collaboration/syracuse/CAdxWebServiceXmlCC", views.soap_endpoint),
    path("api1/x3/erp/<str:folder>/<path:resource>", views.api1_endpoint, name="sandbox-x3-api1"),
]
