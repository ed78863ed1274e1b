"""Appearance writes: edit the draft, store a logo, publish, roll back.

Each service owns its transaction on the core store and, for publish and
rollback, refreshes the published-appearance cache after commit::

    store_config_draft_update(merchant=m, changes={"brand_color": "#aa0000"})
    version = store_config_publish(merchant=m, user=request.user)
    store_config_rollback(merchant=m, number=1, user=request.user)   # appends v3 = v1

Rollback never rewrites history: it publishes a copy of the earlier version
as a new one, and resets the draft to it.
"""

from __future__ import annotations

from django.core.cache import cache
from django.db import transaction
from django.db.models import Max

from appearance.logos import CleanLogo
from appearance.models import Logo, StoreConfig, StoreConfigVersion
from appearance.selectors import CACHE_TTL, cache_key
from appearance.tokens import DEFAULTS, tokens_validate
from duro.models import Merchant

CORE = "default"


def store_config_get_or_create(*, merchant: Merchant) -> StoreConfig:
    config, _ = StoreConfig.objects.get_or_create(merchant=merchant)
    return config


def logo_store(*, logo: CleanLogo) -> str:
    """Keep a cleaned logo (content-addressed: the same image is stored once); its hash."""
    Logo.objects.get_or_create(sha256=logo.sha256, defaults={
        "content_type": "image/png", "data": logo.png, "width": logo.width,
        "height": logo.height})
    return logo.sha256


def store_config_draft_update(*, merchant: Merchant, changes: dict,
                              logo: CleanLogo | None = None,
                              remove_logo: bool = False) -> StoreConfig:
    """Validate ``changes`` over the current draft and save it. Customers see nothing yet.

    Raises :class:`appearance.tokens.TokenErrors` and writes nothing when a token is refused.
    """
    with transaction.atomic(using=CORE):
        config = store_config_get_or_create(merchant=merchant)
        config = StoreConfig.objects.select_for_update().get(pk=config.pk)
        draft = tokens_validate(changes, base={**DEFAULTS, **config.draft})
        if logo is not None:
            draft["logo"] = logo_store(logo=logo)
        elif remove_logo:
            draft["logo"] = ""
        config.draft = draft
        config.save(update_fields=["draft", "updated_at"])
    return config


def _append_version(config: StoreConfig, *, tokens: dict, note: str, user) -> StoreConfigVersion:
    last = config.versions.aggregate(n=Max("number"))["n"] or 0
    version = StoreConfigVersion.objects.create(
        config=config, number=last + 1, tokens=tokens, note=note,
        created_by=getattr(user, "get_username", lambda: "")() if user else "")
    config.published = version
    config.save(update_fields=["published", "draft", "updated_at"])
    state = {"version": version.number, "tokens": dict(tokens)}
    merchant_id = config.merchant_id
    # Drop the old value now, and write the new one once it is committed (a reader
    # in between refills from the database, which is then still the old version).
    cache.delete(cache_key(merchant_id))
    transaction.on_commit(lambda: cache.set(cache_key(merchant_id), state, CACHE_TTL), using=CORE)
    return version


def store_config_publish(*, merchant: Merchant, user=None) -> StoreConfigVersion:
    """Snapshot the draft into a new version and make it the published one."""
    with transaction.atomic(using=CORE):
        config = store_config_get_or_create(merchant=merchant)
        config = StoreConfig.objects.select_for_update().get(pk=config.pk)
        tokens = tokens_validate({**DEFAULTS, **config.draft})  # every value, checked again
        return _append_version(config, tokens=tokens, note="Published", user=user)


def store_config_rollback(*, merchant: Merchant, number: int, user=None) -> StoreConfigVersion:
    """Publish a copy of version ``number`` as the newest version; the draft becomes it too."""
    with transaction.atomic(using=CORE):
        config = StoreConfig.objects.select_for_update().get(merchant=merchant)
        source = config.versions.get(number=number)
        tokens = tokens_validate({**DEFAULTS, **source.tokens})
        config.draft = dict(tokens)
        return _append_version(config, tokens=tokens, note=f"Rolled back to v{number}",
                               user=user)
