from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied
from django.http import Http404

from orderreport.accounts.access import account_for, project_for, visible_projects
from tests.conftest import Team


def test_it_gives_members_their_project_with_their_role(team: Team) -> None:
    project = team.shop.project
    assert project_for(team.owner, project.pk, write=True).is_owner
    assert project_for(team.admin, project.pk, write=True).can_write
    assert not project_for(team.viewer, project.pk).can_write


def test_it_hides_projects_from_outsiders_with_404(team: Team) -> None:
    with pytest.raises(Http404):
        project_for(team.outsider, team.shop.project.pk)
    with pytest.raises(Http404):
        project_for(team.owner, 10**9)
    with pytest.raises(Http404):
        account_for(team.outsider, team.shop.account.pk)
    assert team.shop.project not in visible_projects(team.outsider)


def test_it_refuses_writes_to_viewers_and_billing_to_admins(team: Team) -> None:
    with pytest.raises(PermissionDenied):
        project_for(team.viewer, team.shop.project.pk, write=True)
    with pytest.raises(PermissionDenied):
        account_for(team.admin, team.shop.account.pk, owner=True)
    assert account_for(team.owner, team.shop.account.pk, owner=True) == team.shop.account
