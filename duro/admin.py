"""Admin for operators: merchants, their staff and their keys (never a secret)."""

from django.contrib import admin

from duro.models import ApiKey, Membership, Merchant


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["user"]


class ApiKeyInline(admin.TabularInline):
    model = ApiKey
    extra = 0
    can_delete = False
    fields = ["display", "mode", "kind", "created_at", "expires_at", "revoked_at", "last_used_at"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Merchant)
class MerchantAdmin(admin.ModelAdmin):
    list_display = ["name", "id", "slug", "support_email", "timezone", "default_currency"]
    search_fields = ["name", "slug", "support_email", "id"]
    readonly_fields = ["id", "created_at"]
    inlines = [MembershipInline, ApiKeyInline]


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    list_display = ["display", "merchant", "mode", "kind", "created_at", "expires_at",
                    "revoked_at", "last_used_at"]
    list_filter = ["mode", "kind"]
    search_fields = ["lookup", "publishable_key", "merchant__name"]
    fields = ["display", "merchant", "mode", "kind", "created_at", "expires_at", "revoked_at",
              "last_used_at"]
    readonly_fields = fields

    def has_add_permission(self, request):
        return False
