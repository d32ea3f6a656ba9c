"""Account (tenant) pages: members and invitations, plan and usage, switching and creating
accounts, and the language switch."""

from __future__ import annotations

from email.utils import parseaddr
from urllib.parse import quote

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import Resolver404, resolve, reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views import i18n
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from orderreport.accounts import services
from orderreport.accounts.access import account_for, membership_for
from orderreport.accounts.context_processors import SESSION_ACCOUNT
from orderreport.accounts.forms import (
    AccountNameForm,
    DeleteAccountForm,
    InviteForm,
    NewAccountForm,
    RoleForm,
)
from orderreport.accounts.models import Account, Invitation, Membership, Plan, User


def _user(request: HttpRequest) -> User:
    assert isinstance(request.user, User)  # every caller is behind @login_required
    return request.user


def _members_page(
    request: HttpRequest,
    account_id: int,
    invite_form: InviteForm | None = None,
    name_form: AccountNameForm | None = None,
    status: int = 200,
) -> HttpResponse:
    me = membership_for(_user(request), account_id)
    request.session[SESSION_ACCOUNT] = account_id
    account = me.account
    members = list(
        Membership.objects.filter(account=account).select_related("user").order_by("created", "id")
    )
    invitations = list(Invitation.objects.filter(account=account, accepted__isnull=True))
    ctx = {
        "account": account,
        "me": me,
        "can_write": me.role in (Membership.Role.OWNER, Membership.Role.ADMIN),
        "members": members,
        "invitations": invitations,
        "invite_form": invite_form or InviteForm(),
        "name_form": name_form or AccountNameForm(initial={"name": account.name}),
        "role_choices": RoleForm.base_fields["role"].choices,  # type: ignore[attr-defined]
    }
    return render(request, "accounts/members.html", ctx, status=status)


@login_required
@require_GET
def members(request: HttpRequest, account_id: int) -> HttpResponse:
    return _members_page(request, account_id)


@login_required
@require_POST
def invite(request: HttpRequest, account_id: int) -> HttpResponse:
    account = account_for(_user(request), account_id, write=True)
    form = InviteForm(request.POST)
    if form.is_valid():
        try:
            invitation = services.invite_member(
                account, form.cleaned_data["email"], form.cleaned_data["role"], _user(request)
            )
        except services.MembershipError as exc:
            form.add_error("email", str(exc))
        else:
            messages.success(
                request, _("Invitation sent to %(email)s.") % {"email": invitation.email}
            )
            return redirect("accounts:members", account_id)
    return _members_page(request, account_id, invite_form=form, status=400)


@login_required
@require_POST
def revoke_invitation(request: HttpRequest, account_id: int, invitation_id: int) -> HttpResponse:
    account = account_for(_user(request), account_id, write=True)
    deleted, _rows = Invitation.objects.filter(
        pk=invitation_id, account=account, accepted__isnull=True
    ).delete()
    if not deleted:
        raise Http404("No such invitation")
    messages.success(request, _("Invitation withdrawn."))
    return redirect("accounts:members", account_id)


def _member(account_id: int, membership_id: int) -> Membership:
    membership = (
        Membership.objects.filter(pk=membership_id, account_id=account_id)
        .select_related("user")
        .first()
    )
    if membership is None:
        raise Http404("No such member")
    return membership


@login_required
@require_POST
def change_role(request: HttpRequest, account_id: int, membership_id: int) -> HttpResponse:
    account_for(_user(request), account_id, write=True)
    member = _member(account_id, membership_id)
    form = RoleForm(request.POST)
    try:
        if not form.is_valid():
            raise services.MembershipError(_("Choose admin or viewer."))
        services.change_role(member, form.cleaned_data["role"])
    except services.MembershipError as exc:
        messages.error(request, str(exc))
        return _members_page(request, account_id, status=400)
    text = _("%(email)s is now %(role)s.")
    role = member.get_role_display()
    messages.success(request, text % {"email": member.user.email, "role": role})
    return redirect("accounts:members", account_id)


@login_required
@require_POST
def remove_member(request: HttpRequest, account_id: int, membership_id: int) -> HttpResponse:
    me = membership_for(_user(request), account_id)
    member = _member(account_id, membership_id)
    leaving = member.pk == me.pk
    if not leaving:
        account_for(_user(request), account_id, write=True)  # 403 for a viewer
    try:
        services.remove_member(member)
    except services.MembershipError as exc:
        messages.error(request, str(exc))
        return _members_page(request, account_id, status=400)
    if leaving:
        request.session.pop(SESSION_ACCOUNT, None)
        messages.success(request, _("You left %(account)s.") % {"account": me.account.name})
        return HttpResponseRedirect("/projects/")
    messages.success(request, _("%(email)s was removed.") % {"email": member.user.email})
    return redirect("accounts:members", account_id)


@login_required
@require_POST
def rename_account(request: HttpRequest, account_id: int) -> HttpResponse:
    account = account_for(_user(request), account_id, write=True)
    form = AccountNameForm(request.POST)
    if not form.is_valid():
        return _members_page(request, account_id, name_form=form, status=400)
    account.name = form.cleaned_data["name"]
    account.save(update_fields=["name"])
    messages.success(request, _("Account renamed."))
    return redirect("accounts:members", account_id)


# The pages about one account that switching keeps the reader on (with their query: the
# overview's period); any other page about an account (one redrawn after a failed POST, the
# delete page) leads to the other account's members page.
_ACCOUNT_PAGES = {"accounts:members", "accounts:plan", "reports:account_overview"}


def _same_page_in(request: HttpRequest, account_id: int) -> str:
    """Where switching to `account_id` lands: the page it was asked from, about that account
    when the page is about an account; the projects for a page about one project; else the
    page itself (projects, two-factor settings)."""
    target = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return reverse("projects:list")
    path, _mark, query = target.partition("?")
    try:
        match = resolve(path)
    except Resolver404:
        return reverse("projects:list")
    query = f"?{query}" if query else ""
    if "account_id" in match.kwargs:
        if match.view_name in _ACCOUNT_PAGES and set(match.kwargs) == {"account_id"}:
            return reverse(match.view_name, kwargs={"account_id": account_id}) + query
        return reverse("accounts:members", kwargs={"account_id": account_id})
    if match.kwargs:
        return reverse("projects:list")
    return path + query


@login_required
@require_POST
def switch_account(request: HttpRequest) -> HttpResponse:
    """Make another of the user's accounts the current one (the header's account menu)."""
    try:
        account_id = int(request.POST.get("account", ""))
    except ValueError:
        raise Http404("No such account") from None
    # Only a member's own accounts: anything else is 404 and leaves the session as it was.
    membership = membership_for(_user(request), account_id)
    request.session[SESSION_ACCOUNT] = membership.account_id
    return HttpResponseRedirect(_same_page_in(request, membership.account_id))


@login_required
@require_http_methods(["GET", "POST"])
def create_account(request: HttpRequest) -> HttpResponse:
    """A new account owned by the user: for whoever is only a member of others' accounts (or
    of none any more) and wants projects of their own."""
    posted = request.method == "POST"
    form = NewAccountForm(request.POST if posted else None)
    if posted and form.is_valid():
        account = services.create_account(_user(request), form.cleaned_data["name"])
        request.session[SESSION_ACCOUNT] = account.pk
        messages.success(
            request,
            _("Account “%(name)s” created. Next: create its first project.")
            % {"name": account.name},
        )
        return redirect("projects:list")
    return render(request, "accounts/new.html", {"form": form}, status=400 if posted else 200)


@require_http_methods(["GET", "POST"])
def invitation(request: HttpRequest, token: str) -> HttpResponse:
    """The link in the invitation e-mail: sign up or log in, then accept."""
    found = Invitation.objects.select_related("account", "invited_by").filter(token=token).first()
    if found is None:
        raise Http404("No such invitation")
    problem, status = "", 200
    if (
        found.accepted is not None
        and request.user.is_authenticated
        and Membership.objects.filter(account=found.account, user=request.user).exists()
        and services.user_has_email(_user(request), found.email)
    ):
        # Their own, used invitation: a sign-up from the link accepted it on the way
        # (adapter.py), and a second click on the link in the mail means "take me there".
        request.session[SESSION_ACCOUNT] = found.account_id
        return HttpResponseRedirect("/projects/")
    if found.accepted is not None:
        problem, status = _("This invitation has been used or withdrawn."), 410
    elif found.is_expired:
        problem, status = _("This invitation has expired. Ask for a new one."), 410
    elif request.user.is_authenticated and not services.user_has_email(_user(request), found.email):
        problem = _(
            "This invitation was sent to %(email)s. Log in with that address to accept it."
        ) % {"email": found.email}
        status = 403
    if problem:
        ctx = {"invitation": found, "problem": problem}
        return render(request, "accounts/invitation.html", ctx, status=status)
    if not request.user.is_authenticated:
        from allauth.account.adapter import get_adapter

        # The link arrived by e-mail, so whoever follows it controls the address: sign-up
        # with it needs no second confirmation mail.
        get_adapter(request).stash_invitation(request, found.token, found.email)
        has_user = User.objects.filter(email__iexact=found.email).exists()
        return render(
            request, "accounts/invitation.html", {"invitation": found, "has_user": has_user}
        )
    if request.method == "POST":
        try:
            membership = services.accept_invitation(token, _user(request))
        except services.MembershipError as exc:
            return render(
                request,
                "accounts/invitation.html",
                {"invitation": found, "problem": str(exc)},
                status=410,
            )
        request.session[SESSION_ACCOUNT] = membership.account_id
        messages.success(
            request, _("You joined %(account)s.") % {"account": membership.account.name}
        )
        return HttpResponseRedirect("/projects/")
    return render(request, "accounts/invitation.html", {"invitation": found})


@login_required
@require_GET
def plan(request: HttpRequest, account_id: int) -> HttpResponse:
    me = membership_for(_user(request), account_id)
    request.session[SESSION_ACCOUNT] = account_id
    account = me.account
    usage = services.usage_summary(account)
    plans = list(Plan.objects.all())
    ctx = {
        "account": account,
        "me": me,
        "usage": usage,
        "plans": [(p, _upgrade_link(account, p, usage.limit)) for p in plans],
        "held": services.held_lines(account, PLAN_PAGE_HELD),
        "is_owner": me.role == Membership.Role.OWNER,
        "upgrade_url": settings.UPGRADE_URL,
        "upgrade_email": settings.UPGRADE_EMAIL,
        "operator_email": _operator_email(),
        "held_days": settings.HELD_ORDER_DAYS,
    }
    return render(request, "accounts/plan.html", ctx)


# Held orders the plan page lists (the count covers them all).
PLAN_PAGE_HELD = 100


def _upgrade_link(account: Account, plan: Plan, limit: int | None) -> str:
    """Where to ask for `plan` if it is larger than the current one: UPGRADE_URL as set, or a
    mailto: UPGRADE_EMAIL naming the account and the plan; "" without either."""
    larger = limit is not None and (
        plan.monthly_order_limit is None or plan.monthly_order_limit > limit
    )
    if not larger:
        return ""
    if settings.UPGRADE_URL:
        return str(settings.UPGRADE_URL)
    if settings.UPGRADE_EMAIL:
        subject = _("Plan change: %(account)s to %(plan)s") % {
            "account": account.name,
            "plan": plan.title,
        }
        return f"mailto:{settings.UPGRADE_EMAIL}?subject={quote(subject)}"
    return ""


def _operator_email() -> str:
    """The operator's address from DEFAULT_FROM_EMAIL, unless it is one nobody reads."""
    _name, address = parseaddr(settings.DEFAULT_FROM_EMAIL)
    local, _at, domain = address.partition("@")
    if not domain or domain == "localhost" or local.replace("-", "").startswith("noreply"):
        return ""
    return address


@login_required
@require_http_methods(["GET", "POST"])
def delete_account(request: HttpRequest, account_id: int) -> HttpResponse:
    """GET asks for the account's name, POST deletes; the owner only (403 for others)."""
    account = account_for(_user(request), account_id, owner=True)
    posted = request.method == "POST"
    form = DeleteAccountForm(request.POST if posted else None, account=account)
    if posted and form.is_valid():
        name = account.name
        done = _("Account “%(name)s” deleted.") % {"name": name}
        if services.delete_account(account):
            # The login went with it: nothing is left for this session to show.
            logout(request)
            messages.success(request, done + " " + _("Your login was deleted too."))
            return HttpResponseRedirect("/")
        request.session.pop(SESSION_ACCOUNT, None)
        messages.success(request, done)
        return redirect("projects:list")
    ctx = {
        "account": account,
        "form": form,
        "projects": account.projects.count(),
        "login_goes": services.login_goes_with(account),
    }
    return render(request, "accounts/delete.html", ctx, status=400 if posted else 200)


@require_POST
def set_language(request: HttpRequest) -> HttpResponse:
    """Django's set_language, which also remembers the choice on the user."""
    response = i18n.set_language(request)
    language = request.POST.get("language", "")
    if request.user.is_authenticated and language in dict(settings.LANGUAGES):
        User.objects.filter(pk=request.user.pk).update(language=language)
    return response
