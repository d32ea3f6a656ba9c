from django.urls import path

from orderreport.notify import views

app_name = "notify"

urlpatterns = [
    path("projects/<int:project_id>/notifications/", views.channels, name="channels"),
    path(
        "projects/<int:project_id>/notifications/add/<slug:kind>/",
        views.add_channel,
        name="add",
    ),
    path(
        "projects/<int:project_id>/notifications/<int:channel_id>/",
        views.channel_detail,
        name="channel",
    ),
    path(
        "projects/<int:project_id>/notifications/<int:channel_id>/toggle/",
        views.toggle_channel,
        name="toggle",
    ),
    path(
        "projects/<int:project_id>/notifications/<int:channel_id>/test/",
        views.test_channel,
        name="test",
    ),
    path(
        "projects/<int:project_id>/notifications/<int:channel_id>/rotate-secret/",
        views.rotate_secret,
        name="rotate-secret",
    ),
    path(
        "projects/<int:project_id>/notifications/<int:channel_id>/delete/",
        views.delete_channel,
        name="delete",
    ),
    path(
        "projects/<int:project_id>/notifications/<int:channel_id>/deliveries/<int:delivery_id>/again/",
        views.resend,
        name="resend",
    ),
    path("notifications/confirm/<str:token>/", views.confirm_email, name="confirm-email"),
]
