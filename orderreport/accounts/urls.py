from __future__ import annotations

from django.urls import path

from orderreport.accounts import views

app_name = "accounts"

urlpatterns = [
    path("a/new/", views.create_account, name="create"),
    path("a/switch/", views.switch_account, name="switch"),
    path("a/<id:account_id>/members/", views.members, name="members"),
    path("a/<id:account_id>/members/invite/", views.invite, name="invite"),
    path(
        "a/<id:account_id>/members/invitations/<id:invitation_id>/revoke/",
        views.revoke_invitation,
        name="revoke-invitation",
    ),
    path(
        "a/<id:account_id>/members/<id:membership_id>/role/",
        views.change_role,
        name="change-role",
    ),
    path(
        "a/<id:account_id>/members/<id:membership_id>/remove/",
        views.remove_member,
        name="remove-member",
    ),
    path("a/<id:account_id>/name/", views.rename_account, name="rename"),
    path("a/<id:account_id>/plan/", views.plan, name="plan"),
    path("a/<id:account_id>/delete/", views.delete_account, name="delete"),
    path("invitations/<str:token>/", views.invitation, name="invitation"),
    path("language/", views.set_language, name="set-language"),
]
