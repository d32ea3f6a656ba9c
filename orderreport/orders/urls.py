from __future__ import annotations

from django.urls import path

from orderreport.orders import views

app_name = "orders"

# Mounted under /projects/<id:project_id>/orders/.
urlpatterns = [
    path("", views.order_list, name="list"),
    path("new/", views.order_list_newer, name="newer"),
    path("export/", views.order_export, name="export"),
    path("<id:order_pk>/", views.order_detail, name="detail"),
    path("<id:order_pk>/status/", views.order_status, name="status"),
    path("<id:order_pk>/delete/", views.order_delete, name="delete"),
]
