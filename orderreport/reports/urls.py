from __future__ import annotations

from django.urls import path

from orderreport.reports import views

app_name = "reports"

# Mounted at the root: a project's own address is its overview.
urlpatterns = [
    path("projects/<id:project_id>/", views.project_overview, name="overview"),
    path("a/<id:account_id>/overview/", views.account_overview, name="account_overview"),
    path("overview/", views.current_account_overview, name="current_account_overview"),
]
