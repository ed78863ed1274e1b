"""Dashboard pages of the core: the merchant, its team, and its API keys."""

from __future__ import annotations

from datetime import timedelta

from django import forms
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.tokens import default_token_generator
from django.core.exceptions import PermissionDenied
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from duro.dashboard.tenancy import EDIT, MerchantScopedAdmin, access, membership_of, merchant_id_for
from duro.errors import Invalid
from duro.keys import key_create, key_revoke, key_roll
from duro.merchants import merchant_timezone_changed
from duro.models import ApiKey, Membership, Merchant
from duro.modes import peek_mode
from duro.origins import checkout_origins_set, checkout_origins_validate
from duro.tax import FIELDS as TAX_FIELDS
from duro.tax import TaxDetails, tax_details_set, vat_rate_clean, vat_rate_text


class MerchantForm(forms.ModelForm):
    """The merchant's settings, with the origins that may frame the hosted page (the inline
    SDK) in the mode the dashboard is in: test and live keep separate lists."""

    mode = "test"
    allowed_origins = forms.CharField(
        required=False, widget=forms.Textarea(attrs={"rows": 4}),
        label="Checkout: allowed origins",
        help_text="Sites that may open the hosted page in the inline SDK's overlay, one "
                  "origin per line, exactly scheme://host[:port] (no path, no wildcard). "
                  "Live mode accepts https only; test mode also allows http://localhost:* "
                  "and http://127.0.0.1:*. Leave empty to keep the page unframeable.")

    # What every new invoice prints as the seller, and its VAT (both modes): duro.tax.
    seller_legal_name = forms.CharField(
        required=False, max_length=200, label="Invoices: legal name",
        help_text="Printed as the seller (empty: the name above).")
    seller_address = forms.CharField(
        required=False, max_length=500, label="Invoices: address",
        widget=forms.Textarea(attrs={"rows": 3}))
    seller_tax_id = forms.CharField(
        required=False, max_length=64, label="Invoices: tax id",
        help_text="Your TIN or VAT number, printed on invoices.")
    seller_vat_rate = forms.CharField(
        required=False, max_length=8, label="Invoices: VAT rate (%)",
        help_text="Like 7.5: 0–100, at most 2 decimals. Added on top of the price of every "
                  "new invoice as its own line. Leave empty for no VAT.")

    class Meta:
        model = Merchant
        fields = ["name", "slug", "support_email", "timezone", "default_currency"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        field = self.fields["allowed_origins"]
        field.label = f"Checkout: allowed origins ({self.mode} mode)"
        if self.instance.pk:
            field.initial = "\n".join((self.instance.checkout_origins or {}).get(self.mode) or [])
            for name in ("legal_name", "address", "tax_id"):
                self.fields[f"seller_{name}"].initial = getattr(self.instance, name)
            self.fields["seller_vat_rate"].initial = vat_rate_text(self.instance.vat_rate) or ""

    def clean_seller_vat_rate(self):
        try:
            return vat_rate_clean(self.cleaned_data["seller_vat_rate"] or None, param="vat_rate")
        except Invalid as exc:
            raise forms.ValidationError(exc.message) from None

    def tax_details(self) -> TaxDetails:
        return TaxDetails(**{name: self.cleaned_data[f"seller_{name}"] for name in TAX_FIELDS})

    def clean_allowed_origins(self) -> list[str]:
        lines = [line.strip() for line in self.cleaned_data["allowed_origins"].splitlines()]
        try:
            return checkout_origins_validate([line for line in lines if line], mode=self.mode)
        except Invalid as exc:
            raise forms.ValidationError(exc.message) from None


@admin.register(Merchant)
class MerchantAdmin(MerchantScopedAdmin):
    section = "merchant"
    merchant_field = "id"
    form = MerchantForm
    list_display = ["name", "id", "slug", "support_email", "timezone", "default_currency"]
    search_fields = ["name", "slug", "support_email", "id"]
    readonly_fields = ["id", "created_at"]

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        return type(form.__name__, (form,), {"mode": peek_mode() or "test"})

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        merchant_timezone_changed(obj)
        checkout_origins_set(merchant_id=obj.pk, mode=form.mode,
                             origins=form.cleaned_data["allowed_origins"])
        tax_details_set(merchant_id=obj.pk, details=form.tax_details())

    def has_change_permission(self, request, obj=None):
        if request.user.is_superuser:
            return True
        membership = membership_of(request.user)
        return membership is not None and membership.role == Membership.Role.OWNER

    def has_add_permission(self, request):
        return request.user.is_superuser

    def has_delete_permission(self, request, obj=None):
        return request.user.is_superuser


class KeyCreateForm(forms.Form):
    mode = forms.ChoiceField(choices=[("test", "Test"), ("live", "Live")])
    kind = forms.ChoiceField(choices=ApiKey.Kind.choices)
    merchant = forms.ModelChoiceField(queryset=Merchant.objects.all(), required=False,
                                      help_text="Operators only: whose key.")


def _show_keys(modeladmin, request, created: list[tuple[str, ApiKey]], title: str):
    context = {**modeladmin.admin_site.each_context(request), "title": title,
               "created": created, "opts": ApiKey._meta}
    return TemplateResponse(request, "admin/duro/keys_shown_once.html", context)


@admin.action(description="Roll: new key now, old key valid 24 more hours")
def roll_with_grace(modeladmin, request, queryset):
    return _roll(modeladmin, request, queryset, timedelta(hours=24))


@admin.action(description="Roll: new key now, old key stops now")
def roll_now(modeladmin, request, queryset):
    return _roll(modeladmin, request, queryset, None)


def _roll(modeladmin, request, queryset, grace):
    if access(request, "keys") != EDIT:
        raise PermissionDenied
    created = [key_roll(key=key, grace=grace) for key in queryset
               if key.is_active() and key.expires_at is None]  # a double click rolls once
    return _show_keys(modeladmin, request, created, "New keys — copy them now")


@admin.action(description="Revoke now")
def revoke(modeladmin, request, queryset):
    if access(request, "keys") != EDIT:
        raise PermissionDenied
    for key in queryset:
        key_revoke(key=key)
    modeladmin.message_user(request, f"Revoked {len(queryset)} key(s).")


@admin.register(ApiKey)
class ApiKeyAdmin(MerchantScopedAdmin):
    section = "keys"
    merchant_field = "merchant_id"
    list_display = ["display", "mode", "kind", "status", "created_at", "expires_at",
                    "last_used_at"]
    list_filter = ["mode", "kind"]
    search_fields = ["lookup", "publishable_key"]
    fields = ("display", "mode", "kind", "created_at", "expires_at", "revoked_at",
              "last_used_at")
    readonly_fields = fields
    actions = [roll_with_grace, roll_now, revoke]

    @admin.display(description="Status")
    def status(self, obj):
        if obj.revoked_at:
            return "revoked"
        return "active" if obj.is_active() else "expired"

    def has_change_permission(self, request, obj=None):
        return False  # keys are rolled or revoked, never edited

    def has_delete_permission(self, request, obj=None):
        return False

    def add_view(self, request, form_url="", extra_context=None):
        if not self.has_add_permission(request):
            raise PermissionDenied
        form = KeyCreateForm(request.POST or None)
        if not request.user.is_superuser:
            del form.fields["merchant"]
        if request.method == "POST" and form.is_valid():
            merchant = (form.cleaned_data.get("merchant") if request.user.is_superuser
                        else membership_of(request.user).merchant)
            if merchant is None:
                form.add_error("merchant", "Choose the merchant.")
            else:
                created = [key_create(merchant=merchant, mode=form.cleaned_data["mode"],
                                      kind=form.cleaned_data["kind"])]
                return _show_keys(self, request, created, "Your new key — copy it now")
        context = {**self.admin_site.each_context(request), "title": "Create an API key",
                   "form": form, "opts": ApiKey._meta}
        return TemplateResponse(request, "admin/duro/key_create.html", context)


class InviteForm(forms.Form):
    email = forms.EmailField()
    role = forms.ChoiceField(choices=Membership.Role.choices)


@admin.register(Membership)
class MembershipAdmin(MerchantScopedAdmin):
    section = "team"
    merchant_field = "merchant_id"
    list_display = ["user", "role", "merchant"]
    list_filter = ["role"]
    search_fields = ["user__username", "user__email"]
    fields = ["role"]

    def add_view(self, request, form_url="", extra_context=None):
        """Invite a staff member: a login with no password yet and a link to set one."""
        if not self.has_add_permission(request):
            raise PermissionDenied
        merchant_id = merchant_id_for(request)
        form = InviteForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            if not merchant_id:
                raise PermissionDenied("Operators: switch to a merchant first.")
            User = get_user_model()
            email = form.cleaned_data["email"].lower()
            if User.objects.filter(username=email).exists():
                form.add_error("email", "This person already has a Duro login.")
            else:
                user = User(username=email, email=email, is_staff=True)
                user.set_unusable_password()
                user.save()
                Membership.objects.create(user=user, merchant_id=merchant_id,
                                          role=form.cleaned_data["role"])
                link = request.build_absolute_uri(reverse("password_reset_confirm", kwargs={
                    "uidb64": urlsafe_base64_encode(force_bytes(user.pk)),
                    "token": default_token_generator.make_token(user)}))
                context = {**self.admin_site.each_context(request), "title": "Invitation ready",
                           "invitee": email, "link": link, "opts": Membership._meta}
                return TemplateResponse(request, "admin/duro/invited.html", context)
        context = {**self.admin_site.each_context(request), "title": "Invite a team member",
                   "form": form, "opts": Membership._meta}
        return TemplateResponse(request, "admin/duro/invite.html", context)
