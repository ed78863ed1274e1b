"""``createmerchant NAME --email EMAIL [--password P] --json``: a merchant, its owner, its keys."""

import json

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.core.validators import validate_email

from duro.merchants import merchant_create
from duro.regions import DEFAULT_TIMEZONE


class Command(BaseCommand):
    help = "Create a merchant with its owner login and its four API keys."

    def add_arguments(self, parser):
        parser.add_argument("name")
        parser.add_argument("--email", required=True)
        parser.add_argument("--password", default=None)
        parser.add_argument("--timezone", default=DEFAULT_TIMEZONE)
        parser.add_argument("--json", action="store_true", help="Print the result as JSON.")

    def handle(self, *args, name, email, password, timezone, json: bool = False, **options):
        try:
            validate_email(email)
        except ValidationError:
            raise CommandError(f"{email!r} is not an email address.") from None
        created = merchant_create(name=name, email=email, password=password, timezone=timezone)
        if json:
            self.stdout.write(_dumps(created.as_json()))
            return
        self.stdout.write(f"Merchant {created.merchant.id} ({created.merchant.name})")
        self.stdout.write(f"Admin login: {created.admin_user}")
        for mode, pair in created.keys.items():
            self.stdout.write(f"  {mode}: {pair['secret']}  {pair['publishable']}")


def _dumps(value) -> str:
    return json.dumps(value, indent=2)
