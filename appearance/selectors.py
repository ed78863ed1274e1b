"""Reads of the published appearance, cached so the hosted page costs no core query.

    appearance = published_appearance(merchant_id)   # cache hit: 0 queries
    appearance.theme_url, appearance.logo_url, appearance.tokens

The Django cache holds each merchant's published version number and tokens
(also "nothing published", so a merchant who never branded costs nothing
either). Publishing and rolling back write the new value after commit; the
TTL bounds how long a lost update could linger.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

from django.conf import settings
from django.core.cache import cache
from django.urls import reverse

from appearance.models import StoreConfig, StoreConfigVersion
from appearance.theme import palette
from appearance.tokens import DEFAULTS, FONTS, pay_label
from duro.cache import cache_get

CACHE_TTL = 24 * 3600


def cache_key(merchant_id: str) -> str:
    return f"duro:appearance:published:{merchant_id}"


@dataclass(frozen=True)
class Appearance:
    """A token set ready to render: the published one, the default one, or a draft preview."""

    merchant_id: str | None = None
    version: int | None = None
    tokens: dict = field(default_factory=lambda: dict(DEFAULTS))
    theme_url: str | None = None

    @property
    def logo_url(self) -> str | None:
        logo = self.tokens.get("logo")
        return reverse("appearance-logo", args=[logo]) if logo else None

    def absolute_logo_url(self) -> str | None:
        url = self.logo_url
        return f"{settings.DURO_PUBLIC_URL}{url}" if url else None

    def pay_label(self, amount_label: str) -> str:
        return pay_label(self.tokens, amount_label)

    @property
    def palette(self) -> dict[str, str]:
        return palette(self.tokens)

    @property
    def support_is_email(self) -> bool:
        return "@" in (self.tokens.get("support_contact") or "")

    def as_payload(self) -> dict:
        """The public token set (hydrate, the SDK, the portal): validated values only."""
        t = self.tokens
        return {
            "version": self.version,
            "colors": {"brand": t["brand_color"], "accent": t["accent_color"],
                       "background": t["background_color"], "surface": t["surface_color"],
                       "text": t["text_color"]},
            "font": {"key": t["font"], "stack": FONTS[t["font"]][1]},
            "radius": t["radius"], "scheme": t["scheme"],
            "logoUrl": self.absolute_logo_url(),
            "copy": {"headline": t["headline"] or None, "subheadline": t["subheadline"] or None,
                     "payLabel": t["pay_label"] or None,
                     "successMessage": t["success_message"] or None},
            "supportContact": t["support_contact"] or None, "termsUrl": t["terms_url"] or None,
            "cssVariables": self.palette,
            "themeUrl": f"{settings.DURO_PUBLIC_URL}{self.theme_url}" if self.theme_url else None,
        }


@functools.lru_cache(maxsize=4096)
def _theme_url(merchant_id: str, version: int | None) -> str | None:
    if version is None:
        return None
    return reverse("appearance-theme", args=[merchant_id, version])


def published_state(merchant_id: str) -> dict:
    """``{"version": n | None, "tokens": {...}}`` from the cache, or one core query."""
    state = cache_get(cache_key(merchant_id))
    if state is None:
        row = (StoreConfig.objects.select_related("published")
               .filter(merchant_id=merchant_id).first())
        version = row.published if row is not None else None
        state = {"version": version.number if version else None,
                 "tokens": {**DEFAULTS, **version.tokens} if version else dict(DEFAULTS)}
        cache.set(cache_key(merchant_id), state, CACHE_TTL)
    return state


def published_appearance(merchant_id: str | None) -> Appearance:
    """What customers see for this merchant; the default look when there is no merchant."""
    if not merchant_id:
        return Appearance()
    state = published_state(merchant_id)
    return Appearance(merchant_id=merchant_id, version=state["version"], tokens=state["tokens"],
                      theme_url=_theme_url(merchant_id, state["version"]))


def version_tokens(merchant_id: str, number: int) -> dict | None:
    """The tokens of one published version (immutable); the cache answers for the current one."""
    state = published_state(merchant_id)
    if state["version"] == number:
        return state["tokens"]
    row = StoreConfigVersion.objects.filter(config__merchant_id=merchant_id,
                                            number=number).first()
    return {**DEFAULTS, **row.tokens} if row is not None else None
