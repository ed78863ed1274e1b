"""The builder in the admin: merchant staff brand their own merchant, and only it."""

import pytest
from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from appearance.models import StoreConfig
from appearance.tokens import DEFAULTS
from tests.appearance.conftest import image_bytes
from tests.checkout.factories import make_session

pytestmark = pytest.mark.django_db(databases="__all__")


def login(merchant) -> Client:
    client = Client()
    client.force_login(get_user_model().objects.get(username=merchant.admin_user))
    return client


def form(**changes) -> dict:
    data = {k: v for k, v in DEFAULTS.items() if k != "logo"}
    return {**data, **changes}


def builder_url(merchant) -> str:
    return f"/admin/appearance/storeconfig/{merchant.merchant.id}/builder/"


def test_owner_edits_previews_publishes_and_rolls_back(acme, api):
    owner = login(acme)
    assert "Appearance" in owner.get("/admin/").content.decode()
    landing = owner.get("/admin/appearance/storeconfig/")
    assert landing.status_code == 302 and landing["Location"] == builder_url(acme)
    page = owner.get(builder_url(acme))
    assert page.status_code == 200
    html = page.content.decode()
    assert 'name="brand_color"' in html and "data-preview-frame" in html
    assert 'width="1280"' in html and 'width="375"' in html and "appearance/builder.js" in html
    assert "<script>" not in html.split("</head>", 1)[1]  # the builder's JS is a file

    # Save a draft: the preview shows it, customers do not.
    saved = owner.post(builder_url(acme), {**form(brand_color="#7b1fa2", headline="Draft look"),
                                           "action": "save"})
    assert saved.status_code == 302
    session = make_session(api)
    assert "Draft look" not in Client().get(f"/checkout/{session['token']}").content.decode()
    preview = owner.get(f"/admin/appearance/storeconfig/{acme.merchant.id}/preview/")
    assert preview.status_code == 200 and "Draft look" in preview.content.decode()
    assert "Gold Membership" in preview.content.decode()
    assert preview["X-Frame-Options"] == "SAMEORIGIN"
    assert "frame-ancestors 'self'" in preview["Content-Security-Policy"]
    css = owner.get(f"/admin/appearance/storeconfig/{acme.merchant.id}/preview.css")
    assert "--duro-brand:#7b1fa2;" in css.content.decode()
    # Unsaved form values (as builder.js sends them) preview too; invalid ones are ignored.
    live = owner.get(f"/admin/appearance/storeconfig/{acme.merchant.id}/preview/",
                     {"headline": "Typing…", "brand_color": "red;}body{display:none}"})
    assert "Typing…" in live.content.decode()
    live_css = owner.get(f"/admin/appearance/storeconfig/{acme.merchant.id}/preview.css",
                         {"brand_color": "red;}body{display:none}"}).content.decode()
    assert "display:none" not in live_css and "--duro-brand:#7b1fa2;" in live_css

    # Publish: now customers see it, with a logo.
    published = owner.post(builder_url(acme), {
        **form(brand_color="#7b1fa2", headline="Published look"), "action": "publish",
        "logo_file": SimpleUploadedFile("logo.png", image_bytes(), "image/png")})
    assert published.status_code == 302
    html = Client().get(f"/checkout/{session['token']}").content.decode()
    assert "Published look" in html and 'class="merchant-logo"' in html
    owner.post(builder_url(acme), {**form(brand_color="#c62828", headline="Second"),
                                   "action": "publish"})
    history = owner.get(builder_url(acme)).content.decode()
    assert "v1" in history and "v2" in history and "Roll back to v1" in history

    rolled = owner.post(f"/admin/appearance/storeconfig/{acme.merchant.id}/rollback/1/")
    assert rolled.status_code == 302
    html = Client().get(f"/checkout/{session['token']}").content.decode()
    assert "Published look" in html and f"/appearance/theme/{acme.merchant.id}/3.css" in html
    assert "Rolled back to v1" in owner.get(builder_url(acme)).content.decode()


@pytest.mark.parametrize(("changes", "message"), [
    ({"brand_color": "red;}body{display:none}"}, "Use a hex colour of the form #rrggbb"),
    ({"text_color": "#fff"}, "Use a hex colour of the form #rrggbb"),
    ({"font": "Wingdings"}, "Select a valid choice"),
    ({"pay_label": "Pay {total}"}, "The only placeholder allowed is {amount}"),
    ({"terms_url": "http://acme.test"}, "Enter a full https:// URL"),
])
def test_invalid_values_are_refused_and_nothing_is_saved(acme, changes, message):
    owner = login(acme)
    response = owner.post(builder_url(acme), {**form(**changes), "action": "publish"})
    assert response.status_code == 200 and message in response.content.decode()
    config = StoreConfig.objects.get(merchant=acme.merchant)
    assert config.draft == DEFAULTS and config.published is None


@pytest.mark.parametrize(("upload", "message"), [
    (SimpleUploadedFile("logo.svg", b"<svg xmlns='http://www.w3.org/2000/svg'/>",
                        "image/svg+xml"), "SVG logos are not accepted"),
    (SimpleUploadedFile("logo.png", image_bytes("JPEG"), "image/png"),
     "says it is PNG but its contents are JPEG"),
    (SimpleUploadedFile("logo.png", b"\x89PNG" + b"0" * (600 * 1024), "image/png"),
     "the limit is 512 KB"),
])
def test_bad_logo_uploads_are_refused(acme, upload, message):
    response = login(acme).post(builder_url(acme), {**form(), "action": "save",
                                                    "logo_file": upload})
    assert response.status_code == 200 and message in response.content.decode()


def test_contrast_warning_in_the_builder(acme):
    owner = login(acme)
    owner.post(builder_url(acme), {**form(text_color="#bbbbbb"), "action": "save"})
    assert "under the 4.5:1" in owner.get(builder_url(acme)).content.decode()


def test_other_merchants_staff_get_404(acme, make_merchant, brand):
    brand(brand_color="#7b1fa2")
    other = login(make_merchant("Rival Gym"))
    base = f"/admin/appearance/storeconfig/{acme.merchant.id}"
    assert other.get(f"{base}/builder/").status_code == 404
    assert other.post(f"{base}/builder/", {**form(headline="Hacked"), "action": "publish"}
                      ).status_code == 404
    assert other.get(f"{base}/preview/").status_code == 404
    assert other.get(f"{base}/preview.css").status_code == 404
    assert other.post(f"{base}/rollback/1/").status_code == 404
    config = StoreConfig.objects.get(merchant=acme.merchant)
    assert other.get(f"/admin/appearance/storeconfig/{config.pk}/change/").status_code == 404
    assert config.published.number == 1 and "Hacked" not in str(config.draft)


def test_superuser_picks_a_merchant(acme, make_merchant):
    make_merchant("Rival Gym")
    admin = get_user_model().objects.create_superuser("root", "root@duro.local", "pw-pw-pw-pw")
    client = Client()
    client.force_login(admin)
    picker = client.get("/admin/appearance/storeconfig/").content.decode()
    assert "Acme Gym" in picker and "Rival Gym" in picker
    assert client.get(builder_url(acme)).status_code == 200
