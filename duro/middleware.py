"""Request middleware of the core: every request starts and ends with no mode.

A worker thread serves many requests; without this a mode set by one request
could leak into the next.
"""

from django.utils import timezone

from duro.dashboard.tenancy import timezone_for
from duro.modes import reset_mode, set_mode


class ModeResetMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        token = set_mode(None)
        try:
            return self.get_response(request)
        finally:
            reset_mode(token)


class AdminModeMiddleware:
    """In the dashboard the mode is the one chosen in its header (kept in the session)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path.startswith("/admin/"):
            mode = request.session.get("duro_mode", "test")
            set_mode(mode if mode in ("test", "live") else "test")
        return self.get_response(request)


class DashboardTimezoneMiddleware:
    """In the dashboard, times are shown in the merchant's time zone (a purchase at
    00:30 in Lagos on Nov 24 reads Nov 24, not Nov 23 in UTC); elsewhere UTC."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        zone = timezone_for(request) if request.path.startswith("/admin/") else None
        if zone:
            timezone.activate(zone)
        try:
            return self.get_response(request)
        finally:
            timezone.deactivate()
