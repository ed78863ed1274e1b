"""``manage.py connectprocessor``: operators connect a merchant's processor without the
dashboard; it prints the documented JSON and never the secret, refuses clearly (stderr, a
non-zero exit), and ``--disconnect`` removes the connection."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from io import StringIO
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from django.core.management import CommandError, call_command

from billing.models import ProcessorConnection
from billing.processors.connections import connection_of, processor_for
from duro.modes import mode_context

pytestmark = pytest.mark.django_db(databases="__all__")

ROOT = Path(__file__).resolve().parents[2]
SECRET = "sk_live_9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f1a0b"


@pytest.fixture(autouse=True)
def _encryption_key(settings):
    settings.DURO_ENCRYPTION_KEY = [Fernet.generate_key().decode()]


def run(*args: str) -> tuple[dict, str]:
    out, err = StringIO(), StringIO()
    call_command("connectprocessor", *args, stdout=out, stderr=err)
    return json.loads(out.getvalue()), out.getvalue() + err.getvalue()


def test_connect_prints_the_documented_json_and_never_the_secret(acme):
    merchant_id = acme.merchant.id
    result, printed = run(merchant_id, "paystack", "--secret", SECRET)

    assert result == {"merchantId": merchant_id, "processor": "paystack", "connected": True}
    assert SECRET not in printed and SECRET[-4:] not in printed
    connection = connection_of(merchant_id)
    assert connection is not None and connection.connected_by == "connectprocessor"
    assert processor_for(merchant_id)._secret == SECRET  # type: ignore[union-attr]
    with mode_context("live"):
        assert SECRET not in ProcessorConnection.objects.get().secret_encrypted


def test_the_secret_may_come_from_stdin(acme, monkeypatch):
    monkeypatch.setattr(sys, "stdin", io.StringIO(f"{SECRET}\n"))
    result, _ = run(acme.merchant.id, "paystack", "--secret", "-")
    assert result["connected"] is True
    assert processor_for(acme.merchant.id)._secret == SECRET  # type: ignore[union-attr]


def test_disconnect_removes_the_connection(acme):
    run(acme.merchant.id, "paystack", "--secret", SECRET)
    result, _ = run(acme.merchant.id, "paystack", "--disconnect")
    assert result == {"merchantId": acme.merchant.id, "processor": "paystack",
                      "connected": False}
    assert connection_of(acme.merchant.id) is None and processor_for(acme.merchant.id) is None


@pytest.mark.parametrize(("args", "words"), [
    (("mer_nobody", "paystack", "--secret", SECRET), "No merchant 'mer_nobody'"),
    (("{merchant}", "paystack"), "--secret is required"),
    (("{merchant}", "paystack", "--secret", "pk_live_1234567890abcdef12"), "public key"),
    (("{merchant}", "paystack", "--secret", "sk_live_oops"), "does not look like a Paystack"),
    (("{merchant}", "paystack", "--disconnect", "--secret", SECRET), "takes no --secret"),
])
def test_refusals_name_the_problem_and_store_nothing(acme, args, words):
    args = tuple(a.replace("{merchant}", acme.merchant.id) for a in args)
    with pytest.raises(CommandError, match=words) as refused:
        call_command("connectprocessor", *args, stdout=StringIO())
    assert SECRET not in str(refused.value)
    assert connection_of(acme.merchant.id) is None


def test_without_an_encryption_key_in_production_nothing_is_stored(acme, settings):
    settings.DEBUG, settings.DURO_ENCRYPTION_KEY = False, []
    with pytest.raises(CommandError, match="DURO_ENCRYPTION_KEY must be set"):
        call_command("connectprocessor", acme.merchant.id, "paystack", "--secret", SECRET)
    assert connection_of(acme.merchant.id) is None


def test_an_unknown_processor_is_refused_by_name(acme):
    with pytest.raises(CommandError, match="invalid choice: 'stripe'"):
        call_command("connectprocessor", acme.merchant.id, "stripe", "--secret", SECRET)


def test_as_operators_run_it_errors_go_to_stderr_with_a_non_zero_exit(tmp_path):
    # A throwaway SQLite install, whatever the suite runs on: the command is the same.
    env = {**{k: v for k, v in os.environ.items() if k != "DATABASE_URL"}, "DEBUG": "true",
           "DURO_DATA_DIR": str(tmp_path),
           "DURO_ENCRYPTION_KEY": Fernet.generate_key().decode()}

    def manage(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env,
                              capture_output=True, text=True, timeout=300, check=False)

    assert manage("migrate", "-v", "0").returncode == 0
    created = manage("createmerchant", "Mama Put", "--email", "ada@mamaput.ng", "--json")
    merchant_id = json.loads(created.stdout)["merchantId"]

    refused = manage("connectprocessor", merchant_id, "paystack", "--secret", "sk_live_oops")
    assert refused.returncode != 0 and refused.stdout == ""
    assert "does not look like a Paystack secret key" in refused.stderr
    assert "sk_live_oops" not in refused.stderr

    connected = manage("connectprocessor", merchant_id, "paystack", "--secret", SECRET)
    assert connected.returncode == 0, connected.stderr
    assert json.loads(connected.stdout) == {"merchantId": merchant_id,
                                            "processor": "paystack", "connected": True}
    assert SECRET not in connected.stdout + connected.stderr
