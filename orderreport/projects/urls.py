from __future__ import annotations

from django.urls import path

from orderreport.projects import integration, views

app_name = "projects"

urlpatterns = [
    path("", views.project_list, name="list"),
    path("<id:project_id>/settings/", views.project_settings, name="settings"),
    path("<id:project_id>/delete/", views.project_delete, name="delete"),
    path("<id:project_id>/domains/", views.domains, name="domains"),
    path(
        "<id:project_id>/domains/<id:domain_id>/active/",
        views.domain_active,
        name="domain_active",
    ),
    path(
        "<id:project_id>/domains/<id:domain_id>/delete/",
        views.domain_delete,
        name="domain_delete",
    ),
    path("<id:project_id>/keys/", views.keys, name="keys"),
    path("<id:project_id>/keys/server/", views.server_key_create, name="server_key_create"),
    path(
        "<id:project_id>/keys/<id:key_id>/rotate/",
        views.server_key_rotate,
        name="server_key_rotate",
    ),
    path("<id:project_id>/keys/<id:key_id>/active/", views.key_active, name="key_active"),
    path("<id:project_id>/keys/<id:key_id>/delete/", views.key_delete, name="key_delete"),
    path("<id:project_id>/events/", views.events, name="events"),
    path(
        "<id:project_id>/events/<id:event_id>/active/",
        views.event_active,
        name="event_active",
    ),
    path(
        "<id:project_id>/events/<id:event_id>/rename/",
        views.event_rename,
        name="event_rename",
    ),
    path(
        "<id:project_id>/events/<id:event_id>/delete/",
        views.event_delete,
        name="event_delete",
    ),
    path("<id:project_id>/events/<id:event_id>/form/", views.event_form, name="event_form"),
    path(
        "<id:project_id>/events/<id:event_id>/form/rotate/",
        views.event_form_rotate,
        name="event_form_rotate",
    ),
    path("<id:project_id>/integration/", integration.integration, name="integration"),
    path(
        "<id:project_id>/integration/server-key/",
        integration.integration_server_key,
        name="integration_server_key",
    ),
    path(
        "<id:project_id>/integration/test-order/",
        integration.integration_test_order,
        name="test_order",
    ),
    path(
        "<id:project_id>/integration/test-submission/",
        integration.integration_test_submission,
        name="test_submission",
    ),
]
