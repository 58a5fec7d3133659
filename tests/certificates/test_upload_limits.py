"""Checking a PFX costs up to ~1 s of CPU: uploads are limited per user (panel) and per partner (API)."""

import io

import pytest

from tests.factories import UserFactory

MESSAGE = "Muitos envios de certificado em pouco tempo."


@pytest.fixture
def pfx_limit(app):
    saved = app.config["PFX_UPLOAD_RATE_LIMIT"]
    app.config["PFX_UPLOAD_RATE_LIMIT"] = "2 per minute"
    yield
    app.config["PFX_UPLOAD_RATE_LIMIT"] = saved


def _garbage():
    return {"file": (io.BytesIO(b"0\x82" + b"\x30" * 500), "cert.pfx"), "password": "x"}


def test_panel_uploads_are_limited_per_user(db, login_as, manager, partner, client_row, pfx_limit):
    colleague = UserFactory(partner=partner)
    db.session.commit()
    http = login_as(manager)
    url = f"/clientes/{client_row.id}/certificado"
    statuses = [http.post(url, data=_garbage(), content_type="multipart/form-data").status_code for _ in range(2)]
    assert statuses == [422, 422]  # rejected as not a PFX, but each one was checked
    blocked = http.post(url, data=_garbage(), content_type="multipart/form-data")
    assert blocked.status_code == 429
    assert MESSAGE in blocked.get_data(as_text=True)
    other = login_as(colleague).post(url, data=_garbage(), content_type="multipart/form-data")
    assert other.status_code == 422  # another user has their own allowance


def test_api_uploads_are_limited_per_partner(db, partner_api, client_row, pfx_limit):
    http, headers = partner_api
    url = f"/api/v1/clients/{client_row.id}/certificate"
    statuses = [http.put(url, data=_garbage(), headers=headers).status_code for _ in range(2)]
    assert statuses == [422, 422]
    blocked = http.put(url, data=_garbage(), headers=headers)
    assert blocked.status_code == 429
    error = blocked.get_json()["error"]
    assert error["code"] == "rate_limited" and MESSAGE in error["message"]
