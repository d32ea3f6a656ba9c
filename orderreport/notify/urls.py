from django.urls import path

from orderreport.notify import images, views

app_name = "notify"

urlpatterns = [
    path("projects/<id:project_id>/notifications/", views.channels, name="channels"),
    path(
        "projects/<id:project_id>/notifications/add/<slug:kind>/",
        views.add_channel,
        name="add",
    ),
    path(
        "projects/<id:project_id>/notifications/<id:channel_id>/",
        views.channel_detail,
        name="channel",
    ),
    path(
        "projects/<id:project_id>/notifications/<id:channel_id>/toggle/",
        views.toggle_channel,
        name="toggle",
    ),
    path(
        "projects/<id:project_id>/notifications/<id:channel_id>/test/",
        views.test_channel,
        name="test",
    ),
    path(
        "projects/<id:project_id>/notifications/<id:channel_id>/confirm-again/",
        views.confirm_again,
        name="confirm-again",
    ),
    path(
        "projects/<id:project_id>/notifications/<id:channel_id>/rotate-secret/",
        views.rotate_secret,
        name="rotate-secret",
    ),
    path(
        "projects/<id:project_id>/notifications/<id:channel_id>/delete/",
        views.delete_channel,
        name="delete",
    ),
    path(
        "projects/<id:project_id>/notifications/<id:channel_id>/deliveries/<id:delivery_id>/again/",
        views.resend,
        name="resend",
    ),
    path("notifications/confirm/<str:token>/", views.confirm_email, name="confirm-email"),
    # The order page's product pictures (images.py); the index is the product's in the order.
    path(
        "projects/<id:project_id>/orders/<id:order_pk>/products/<index:index>/image",
        images.product_image,
        name="product-image",
    ),
]
