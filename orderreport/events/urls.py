from __future__ import annotations

from django.urls import path

from orderreport.events import views

app_name = "events"

# Mounted under /projects/<id:project_id>/. The project app owns .../events/ (event keys);
# only .../events/<id>/records/ is ours there.
urlpatterns = [
    path("records/", views.record_list, name="records"),
    path("records/new/", views.record_list_newer, name="records_newer"),
    path("records/export/", views.record_export, name="records_export"),
    path("records/<id:record_pk>/", views.record_detail, name="record_detail"),
    path("records/<id:record_pk>/delete/", views.record_delete, name="record_delete"),
    path("records/<id:record_pk>/not-spam/", views.record_not_spam, name="record_not_spam"),
    path("events/<id:event_id>/records/", views.event_record_list, name="event_records"),
    path(
        "events/<id:event_id>/records/export/",
        views.event_record_export,
        name="event_records_export",
    ),
    path(
        "events/<id:event_id>/records/new/",
        views.event_record_list_newer,
        name="event_records_newer",
    ),
]
