"""The root URLconf plus a stand-in for the events app's records page (dash-orders builds it),
so the events page's links can be tested before that branch is merged."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.urls import include, path

from orderreport.urls import urlpatterns as root_patterns


def _records(request: HttpRequest, project_id: int, event_id: int) -> HttpResponse:
    return HttpResponse("records")


stand_in = ([path("<int:project_id>/<int:event_id>/", _records, name="event_records")], "events")

urlpatterns = [path("stand-in-records/", include(stand_in)), *root_patterns]
