"""Processor secrets at rest: encrypted under DURO_ENCRYPTION_KEY, readable after a key
rotation, and never under a key nobody configured in production."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet
from django.core.exceptions import ImproperlyConfigured

from duro.crypto import SecretUnreadable, secret_decrypt, secret_encrypt, secret_rotate

SECRET = "sk_live_4f8e2c1d9b7a6e5f4c3b2a1908f7e6d5c4b3a291"


def test_a_secret_round_trips_and_its_token_does_not_show_it(settings):
    settings.DURO_ENCRYPTION_KEY = [Fernet.generate_key().decode()]

    token = secret_encrypt(SECRET)

    assert SECRET not in token and SECRET[8:20] not in token
    assert secret_decrypt(token) == SECRET
    assert secret_encrypt(SECRET) != token  # a fresh IV each time


def test_a_key_is_rotated_by_putting_the_new_one_first(settings):
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.DURO_ENCRYPTION_KEY = [old]
    token = secret_encrypt(SECRET)

    settings.DURO_ENCRYPTION_KEY = [new, old]  # the new key encrypts, both decrypt
    assert secret_decrypt(token) == SECRET
    rotated = secret_rotate(token)

    settings.DURO_ENCRYPTION_KEY = [new]  # the old key is gone
    assert secret_decrypt(rotated) == SECRET
    with pytest.raises(SecretUnreadable):
        secret_decrypt(token)


def test_a_token_from_another_key_or_altered_is_unreadable(settings):
    settings.DURO_ENCRYPTION_KEY = [Fernet.generate_key().decode()]
    token = secret_encrypt(SECRET)
    altered = token[:-6] + ("A" if token[-6] != "A" else "B") + token[-5:]

    with pytest.raises(SecretUnreadable):
        secret_decrypt(altered)
    settings.DURO_ENCRYPTION_KEY = [Fernet.generate_key().decode()]
    with pytest.raises(SecretUnreadable):
        secret_decrypt(token)
    with pytest.raises(SecretUnreadable):
        secret_rotate(token)


def test_production_without_a_key_refuses_clearly(settings):
    settings.DEBUG = False
    settings.DURO_ENCRYPTION_KEY = []

    with pytest.raises(ImproperlyConfigured, match="DURO_ENCRYPTION_KEY must be set"):
        secret_encrypt(SECRET)
    with pytest.raises(ImproperlyConfigured, match="DURO_ENCRYPTION_KEY must be set"):
        secret_decrypt("anything")


def test_local_development_derives_a_stable_key_from_secret_key(settings):
    settings.DEBUG = True
    settings.DURO_ENCRYPTION_KEY = []
    token = secret_encrypt(SECRET)

    assert secret_decrypt(token) == SECRET
    settings.SECRET_KEY = "another-secret-key-entirely"
    with pytest.raises(SecretUnreadable):  # the key is SECRET_KEY's, nobody else's
        secret_decrypt(token)


def test_a_malformed_key_names_its_position(settings):
    settings.DURO_ENCRYPTION_KEY = [Fernet.generate_key().decode(), "not-a-fernet-key"]

    with pytest.raises(ImproperlyConfigured, match="key 2 is not a Fernet key"):
        secret_encrypt(SECRET)


def test_the_setting_reads_comma_separated_keys_from_the_environment(monkeypatch):
    import environ

    first, second = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    monkeypatch.setenv("DURO_ENCRYPTION_KEY", f"{first},{second}")

    assert environ.Env().list("DURO_ENCRYPTION_KEY", default=[]) == [first, second]
