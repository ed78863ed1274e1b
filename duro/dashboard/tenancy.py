"""Tenant isolation and roles for every admin page.

Merchant staff see and change only their own merchant's rows: every query of
a :class:`MerchantScopedAdmin` is filtered by the signed-in staff member's
merchant (or, for operators, by the merchant they switched to), an object of
another merchant is a 404 on every page (change, delete, history), foreign-key
choices are scoped too, and what a role may do is decided here on the server:

========== ========================= ===============================
role       may change                may only view
========== ========================= ===============================
owner      everything, the team      —
developer  keys, webhooks, payment   live billing and checkout data,
           methods, test data        the processor (and tests it)
support    (blacklist customers)     everything but keys, the team
                                     and the processor
========== ========================= ===============================
"""

from __future__ import annotations

from django.http import Http404
from unfold.admin import ModelAdmin

from duro.models import Membership, Merchant
from duro.modes import peek_mode

OWNER, DEVELOPER, SUPPORT = (Membership.Role.OWNER, Membership.Role.DEVELOPER,
                             Membership.Role.SUPPORT)
EDIT, VIEW = "edit", "view"

# section -> role -> access (None: hidden)
ACCESS: dict[str, dict[str, str | None]] = {
    "keys": {OWNER: EDIT, DEVELOPER: EDIT, SUPPORT: None},
    "team": {OWNER: EDIT, DEVELOPER: None, SUPPORT: None},
    "webhooks": {OWNER: EDIT, DEVELOPER: EDIT, SUPPORT: VIEW},
    "payment_methods": {OWNER: EDIT, DEVELOPER: EDIT, SUPPORT: VIEW},
    "processor": {OWNER: EDIT, DEVELOPER: VIEW, SUPPORT: None},
    "appearance": {OWNER: EDIT, DEVELOPER: VIEW, SUPPORT: VIEW},
    "billing": {OWNER: EDIT, DEVELOPER: "edit-test", SUPPORT: VIEW},
    "merchant": {OWNER: VIEW, DEVELOPER: VIEW, SUPPORT: VIEW},
}


def membership_of(user) -> Membership | None:
    if not getattr(user, "is_authenticated", False):
        return None
    try:
        return user.membership
    except Membership.DoesNotExist:
        return None


def merchant_id_for(request) -> str | None:
    """The merchant whose data this request may see; None for an operator seeing all."""
    if request.user.is_superuser:
        return request.session.get("duro_merchant") or None
    membership = membership_of(request.user)
    return membership.merchant_id if membership else "__nobody__"


def timezone_for(request) -> str | None:
    """The time zone the dashboard shows times in: the merchant's (an operator's chosen
    merchant's); None for an operator seeing every merchant (times stay in UTC)."""
    membership = membership_of(request.user)
    if membership is not None and not request.user.is_superuser:
        return membership.merchant.timezone
    merchant_id = merchant_id_for(request) if getattr(request.user, "is_superuser", False) \
        else None
    if merchant_id:
        return Merchant.objects.filter(pk=merchant_id).values_list("timezone", flat=True).first()
    return None


def access(request, section: str) -> str | None:
    """``"edit"``, ``"view"`` or None for this user, section and the current mode."""
    if request.user.is_superuser:
        return EDIT
    membership = membership_of(request.user)
    if membership is None or not request.user.is_staff:
        return None
    level = ACCESS[section][membership.role]
    if level == "edit-test":
        return EDIT if peek_mode() == "test" else VIEW
    return level


def role_of(request) -> str | None:
    if request.user.is_superuser:
        return "operator"
    membership = membership_of(request.user)
    return membership.role if membership else None


class MerchantScopedAdmin(ModelAdmin):
    """A ModelAdmin whose every query, object and choice is scoped to one merchant."""

    section = "billing"
    merchant_field = "merchant_id"

    # --- scoping --------------------------------------------------------------
    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        merchant_id = merchant_id_for(request)
        if merchant_id is None:
            return queryset
        return queryset.filter(**{self.merchant_field: merchant_id})

    def get_ordering(self, request):
        ordering = super().get_ordering(request)
        if ordering:
            return ordering
        names = {f.name for f in self.model._meta.get_fields()}
        return ["-created_at", "-pk"] if "created_at" in names else ["-pk"]

    def get_object(self, request, object_id, from_field=None):
        obj = super().get_object(request, object_id, from_field)
        if obj is None and object_id is not None:
            raise Http404("No such object.")
        return obj

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        related = db_field.related_model
        merchant_id = merchant_id_for(request)
        names = {f.name for f in related._meta.get_fields()}
        if merchant_id is not None and names & {"merchant_id", "merchant"}:
            kwargs["queryset"] = related._default_manager.filter(merchant_id=merchant_id)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def save_model(self, request, obj, form, change):
        if not change and hasattr(obj, "merchant_id") and not obj.merchant_id:
            membership = membership_of(request.user)
            merchant_id = membership.merchant_id if membership else merchant_id_for(request)
            if not merchant_id:
                raise Http404("Choose a merchant first.")
            obj.merchant_id = merchant_id
        super().save_model(request, obj, form, change)

    def get_readonly_fields(self, request, obj=None):
        fields = list(super().get_readonly_fields(request, obj))
        names = {f.name for f in self.model._meta.get_fields()}
        if obj is not None and "merchant_id" in names and "merchant_id" not in fields:
            fields.append("merchant_id")  # an object never moves to another merchant
        return fields

    def get_exclude(self, request, obj=None):
        exclude = list(super().get_exclude(request, obj) or [])
        if not request.user.is_superuser and "merchant_id" not in exclude:
            exclude.append("merchant_id")
        return exclude

    # --- roles ------------------------------------------------------------------
    def has_module_permission(self, request):
        return access(request, self.section) is not None

    def has_view_permission(self, request, obj=None):
        return access(request, self.section) is not None

    def has_add_permission(self, request):
        return access(request, self.section) == EDIT

    def has_change_permission(self, request, obj=None):
        return access(request, self.section) == EDIT

    def has_delete_permission(self, request, obj=None):
        return access(request, self.section) == EDIT


class ReadOnlyAdmin(MerchantScopedAdmin):
    """Records that nobody edits by hand (payments, events)."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
