"""``python manage.py billing_run [--now ISO-TIME] [--mode test|live]``: run renewals once.

Runs the renewal engine in each mode (both by default) at the given time
(default: now) and prints what it did as one JSON line per mode.
"""

from __future__ import annotations

import json
from datetime import UTC

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from billing.renewals import renewals_run
from duro.modes import MODES, mode_context


class Command(BaseCommand):
    help = "Run the renewal engine once: charge what is due, dun, cancel, complete."

    def add_arguments(self, parser):
        parser.add_argument("--now", help="ISO-8601 time to run at (default: now)")
        parser.add_argument("--mode", choices=MODES, help="one mode (default: both)")
        parser.add_argument("--batch", type=int, help="subscriptions per batch")

    def handle(self, *args, **options):
        now = timezone.now()
        if options["now"]:
            now = parse_datetime(options["now"])
            if now is None:
                raise CommandError("--now must be an ISO-8601 time, e.g. 2026-01-31T09:00:00Z")
            if timezone.is_naive(now):
                now = timezone.make_aware(now, UTC)
        for mode in [options["mode"]] if options["mode"] else list(MODES):
            with mode_context(mode):
                report = renewals_run(now=now, batch=options["batch"])
            self.stdout.write(json.dumps({"mode": mode, "now": now.isoformat(),
                                          **report.as_dict()}))
