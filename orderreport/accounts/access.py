"""Who may see and change what. Every dashboard view goes through these helpers.

A user sees an account's projects only through a Membership. Anything else answers 404 (not
403), so an outsider cannot even learn that a project id exists. A viewer reads; writing
needs admin or owner (403); billing and deleting the account need the owner (403).
"""

from __future__ import annotations

from dataclasses import dataclass

from django.core.exceptions import PermissionDenied
from django.http import Http404

from orderreport.accounts.models import Account, Membership, User
from orderreport.projects.models import Project

Role = Membership.Role
_WRITERS = (Role.OWNER, Role.ADMIN)


@dataclass(frozen=True)
class ProjectAccess:
    project: Project
    membership: Membership

    @property
    def can_write(self) -> bool:
        return self.membership.role in _WRITERS

    @property
    def is_owner(self) -> bool:
        return self.membership.role == Role.OWNER


def membership_for(user: User, account_id: int) -> Membership:
    """The user's membership of an account, or 404."""
    membership = (
        Membership.objects.filter(user=user, account_id=account_id)
        .select_related("account__plan")
        .first()
    )
    if membership is None:
        raise Http404("No such account")
    return membership


def account_for(
    user: User, account_id: int, *, write: bool = False, owner: bool = False
) -> Account:
    membership = membership_for(user, account_id)
    if owner and membership.role != Role.OWNER:
        raise PermissionDenied("Only the account owner can do this.")
    if write and membership.role not in _WRITERS:
        raise PermissionDenied("Viewers cannot change anything.")
    return membership.account


def project_for(user: User, project_id: int, *, write: bool = False) -> ProjectAccess:
    """The project with the user's role in its account; 404 for outsiders, 403 for a viewer
    asking to write."""
    project = Project.objects.select_related("account__plan").filter(pk=project_id).first()
    if project is None:
        raise Http404("No such project")
    membership = Membership.objects.filter(user=user, account_id=project.account_id).first()
    if membership is None:
        raise Http404("No such project")
    if write and membership.role not in _WRITERS:
        raise PermissionDenied("Viewers cannot change anything.")
    return ProjectAccess(project, membership)


def visible_projects(user: User) -> list[Project]:
    return list(
        Project.objects.filter(account__memberships__user=user)
        .select_related("account")
        .order_by("account__name", "name")
    )
