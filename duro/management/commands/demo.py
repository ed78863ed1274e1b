"""``demo``: make sure the demo merchant exists and print its test keys and URLs.

Idempotent. Secret keys are only stored hashed, so the demo's plain keys are
kept in the data folder (mode 0600) for local use; if that file is lost, the
demo's keys are rolled and the new ones kept.
"""

import json

from django.conf import settings
from django.core.management.base import BaseCommand

from duro.keys import active_keys, key_revoke
from duro.merchants import merchant_create, merchant_keys_create
from duro.models import Merchant

DEMO_SLUG = "demo-store"
DEMO_EMAIL = "demo@duro.local"
DEMO_PASSWORD = "duro-demo"


class Command(BaseCommand):
    help = "Create the demo merchant when missing and print its test keys."

    def handle(self, *args, **options):
        path = settings.DATA_DIR / "demo-keys.json"
        merchant = Merchant.objects.filter(slug=DEMO_SLUG).first()
        if merchant is None:
            created = merchant_create(name="Demo Store", email=DEMO_EMAIL, password=DEMO_PASSWORD)
            created.merchant.slug = DEMO_SLUG
            created.merchant.save(update_fields=["slug"])
            merchant, keys = created.merchant, created.keys
            self._keep(path, merchant.id, keys)
        else:
            kept = json.loads(path.read_text()) if path.exists() else {}
            keys = kept.get("keys") if kept.get("merchantId") == merchant.id else None
            if keys is None:
                for key in active_keys(merchant):
                    key_revoke(key=key)
                keys = merchant_keys_create(merchant=merchant)
                self._keep(path, merchant.id, keys)
        base = settings.DURO_PUBLIC_URL
        self.stdout.write(
            "\n".join([
                "",
                "  Duro is running with the demo merchant 'Demo Store' (test mode keys):",
                f"    secret key       {keys['test']['secret']}",
                f"    publishable key  {keys['test']['publishable']}",
                f"    merchant id      {merchant.id}",
                f"    admin            {base}/admin/  ({DEMO_EMAIL} / {DEMO_PASSWORD})",
                f"    API docs         {base}/v1/docs",
                f"    try it           curl -H 'Authorization: Bearer {keys['test']['secret']}' "
                f"{base}/v1/merchant",
                "",
            ])
        )

    def _keep(self, path, merchant_id, keys):
        path.write_text(json.dumps({"merchantId": merchant_id, "keys": keys}, indent=2))
        path.chmod(0o600)
