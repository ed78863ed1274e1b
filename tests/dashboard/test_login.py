"""The dashboard's sign-in asks for the merchant's email (it is their login)."""

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db(databases="__all__")


def test_login_asks_for_email_and_accepts_it_in_any_case(make_merchant):
    owner = make_merchant("Case Co", email="owner@case.test", password="pw-case-123")
    client = Client()
    page = client.get("/admin/login/").content.decode()
    assert '<label for="id_username"' in page
    assert "Email" in page.split('<label for="id_username"')[1][:200]
    assert "Username" not in page
    response = client.post("/admin/login/?next=/admin/",
                           {"username": " Owner@Case.TEST ", "password": "pw-case-123"})
    assert response.status_code == 302 and response["Location"] == "/admin/"
    assert owner.admin_user == "owner@case.test"
