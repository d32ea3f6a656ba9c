from __future__ import annotations

from django.urls import path

from orderreport.projects import views

app_name = "projects"

urlpatterns = [
    path("", views.project_list, name="list"),
    path("<int:project_id>/settings/", views.project_settings, name="settings"),
    path("<int:project_id>/delete/", views.project_delete, name="delete"),
    path("<int:project_id>/domains/", views.domains, name="domains"),
    path(
        "<int:project_id>/domains/<int:domain_id>/active/",
        views.domain_active,
        name="domain_active",
    ),
    path(
        "<int:project_id>/domains/<int:domain_id>/delete/",
        views.domain_delete,
        name="domain_delete",
    ),
    path("<int:project_id>/keys/", views.keys, name="keys"),
    path("<int:project_id>/keys/server/", views.server_key_create, name="server_key_create"),
    path(
        "<int:project_id>/keys/<int:key_id>/rotate/",
        views.server_key_rotate,
        name="server_key_rotate",
    ),
    path("<int:project_id>/keys/<int:key_id>/active/", views.key_active, name="key_active"),
    path("<int:project_id>/keys/<int:key_id>/delete/", views.key_delete, name="key_delete"),
    path("<int:project_id>/events/", views.events, name="events"),
    path(
        "<int:project_id>/events/<int:event_id>/active/",
        views.event_active,
        name="event_active",
    ),
    path(
        "<int:project_id>/events/<int:event_id>/rename/",
        views.event_rename,
        name="event_rename",
    ),
    path(
        "<int:project_id>/events/<int:event_id>/delete/",
        views.event_delete,
        name="event_delete",
    ),
    path("<int:project_id>/integration/", views.integration, name="integration"),
    path(
        "<int:project_id>/integration/server-key/",
        views.integration_server_key,
        name="integration_server_key",
    ),
    path(
        "<int:project_id>/integration/test-order/",
        views.integration_test_order,
        name="test_order",
    ),
]
