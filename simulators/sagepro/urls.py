from django.urls import path

from simulators.sagepro import views

urlpatterns = [
    path("api/site", views.site_view, name="sandbox-sagepro-site"),
    path("api/<str:resource>", views.collection_view, name="sandbox-sagepro-collection"),
    path("api/<str:resource>/<str:key>", views.entry_view, name="sandbox-sagepro-entry"),
]
