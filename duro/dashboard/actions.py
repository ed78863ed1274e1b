"""Admin actions that move money or delete ask again in live mode.

    @admin.action(description="Cancel now")
    @confirm_in_live("cancel these subscriptions now")
    def cancel_now(modeladmin, request, queryset): ...
"""

from __future__ import annotations

import functools

from django.contrib.admin import helpers
from django.template.response import TemplateResponse

from duro.modes import peek_mode


def confirm_in_live(what: str):
    def decorate(action):
        @functools.wraps(action)
        def wrapper(modeladmin, request, queryset):
            if peek_mode() != "live" or request.POST.get("duro_confirm") == "yes":
                return action(modeladmin, request, queryset)
            context = {
                **modeladmin.admin_site.each_context(request),
                "title": "Are you sure?",
                "what": what,
                "queryset": queryset,
                "action": request.POST.get("action"),
                "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
                "opts": modeladmin.model._meta,
            }
            return TemplateResponse(request, "admin/duro/confirm_live_action.html", context)

        return wrapper

    return decorate
