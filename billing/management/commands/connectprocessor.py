"""``connectprocessor MERCHANT_ID paystack --secret KEY`` (or ``--disconnect``): connect a
merchant's live processor without the dashboard (API.md §11). Prints
``{"merchantId", "processor", "connected"}`` as JSON, never the secret; ``--secret -``
reads the key from standard input, so that it stays out of the shell's history and the
process list."""

from __future__ import annotations

import json
import sys

from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import BaseCommand, CommandError

from billing.processors.connections import (
    PROCESSORS,
    connection_of,
    processor_connect,
    processor_disconnect,
)
from duro.errors import DuroError
from duro.models import Merchant


class Command(BaseCommand):
    help = ("Connect a merchant's live processor (its secret is stored encrypted), or "
            "--disconnect it. Prints JSON, never the secret.")

    def add_arguments(self, parser):
        parser.add_argument("merchant_id")
        parser.add_argument("processor", choices=sorted(PROCESSORS))
        parser.add_argument("--secret", default="",
                            help="The processor's secret key; '-' reads it from stdin.")
        parser.add_argument("--webhook-secret", default="",
                            help="The webhook secret hash (processors that need one).")
        parser.add_argument("--encryption-key", default="",
                            help="The encryption key (processors that need one).")
        parser.add_argument("--disconnect", action="store_true",
                            help="Remove the connection and its stored secret.")

    def handle(self, *args, merchant_id: str, processor: str, secret: str,
               webhook_secret: str, encryption_key: str, disconnect: bool, **options):
        if not Merchant.objects.filter(pk=merchant_id).exists():
            raise CommandError(f"No merchant {merchant_id!r}.")
        if disconnect:
            if secret:
                raise CommandError("--disconnect takes no --secret.")
            current = connection_of(merchant_id)
            if current is not None and current.processor != processor:
                raise CommandError(f"{merchant_id} is connected to {current.processor}, "
                                   f"not {processor}: nothing was disconnected.")
            processor_disconnect(merchant_id=merchant_id)
            self._print({"merchantId": merchant_id, "processor": processor,
                         "connected": False})
            return
        if secret == "-":
            secret = sys.stdin.readline().strip()
        if not secret:
            raise CommandError("--secret is required (or --disconnect).")
        try:
            connection = processor_connect(merchant_id=merchant_id, processor=processor,
                                           secret=secret, webhook_secret=webhook_secret,
                                           encryption_key=encryption_key,
                                           by="connectprocessor")
        except DuroError as exc:
            raise CommandError(exc.message) from None
        except ImproperlyConfigured as exc:  # no DURO_ENCRYPTION_KEY to store it under
            raise CommandError(str(exc)) from None
        self._print(connection.as_json())

    def _print(self, value: dict) -> None:
        self.stdout.write(json.dumps(value))
