"""Malformed input answers 4xx with a Portuguese message and saves nothing, never a 5xx: ids past
64 bits, 1e400, numbers where text is expected, NUL bytes, bad staff-list filter values; and the
staff home's "Pagamentos a aprovar" shortcut works for finance."""

import re
from html import unescape

import pytest
from sqlalchemy import func, select

from core.security import MAX_ID, parse_id
from partner.models import Client, Plan

HUGE = "99999999999999999999"


@pytest.mark.parametrize(("value", "expected"), [
    ("1", 1), (str(MAX_ID), MAX_ID), (str(MAX_ID + 1), None), (HUGE, None), ("0", None), ("-1", None),
    ("1e400", None), ("١٢", None), ("²", None), (" 1 ", 1), ("", None), (None, None), (7, 7), (True, None),
    (5.0, 5), (float("inf"), None), (2**31, None),
])
def test_parse_id(value, expected):
    assert parse_id(value) == expected


@pytest.mark.parametrize("url", [
    f"/clientes/{HUGE}", f"/clientes/{HUGE}/editar", f"/links-de-contratacao/{HUGE}", f"/faturas/{HUGE}",
    f"/faturas/{HUGE}/pdf", "/clientes/-1", "/clientes/1e400", "/links-de-contratacao/0",
])
def test_ids_past_64_bits_are_not_found(world, client, login_as, url):
    login_as(world["users"]["manager"])
    assert client.get(url).status_code == 404


@pytest.mark.parametrize("url", [
    f"/admin/invoices/details/?id={HUGE}", f"/admin/invoices/{HUGE}/pdf", f"/admin/users/details/?id={HUGE}",
    f"/admin/partners/edit/?id={HUGE}", "/admin/partners/edit/?id=1e400",
])
def test_staff_pages_with_ids_past_64_bits(world, client, login_as, url):
    login_as(world["users"]["admin"])
    assert client.get(url).status_code in (302, 404)


def test_api_ids_and_numbers_out_of_range_are_422_or_404(world, client):
    headers = {"Authorization": f"Bearer {world['api_token']}"}
    response = client.get(f"/api/v1/clients?plan_id={HUGE}", headers=headers)
    assert response.status_code == 422 and response.get_json()["error"]["fields"]["plan_id"]
    assert client.get("/api/v1/clients?page=1e400", headers=headers).status_code == 422
    assert client.get(f"/api/v1/clients/{HUGE}", headers=headers).status_code == 404
    assert client.get(f"/api/v1/invoices/{HUGE}", headers=headers).status_code == 404


def test_numbers_where_text_is_expected_are_422(world, client, db):
    headers = {"Authorization": f"Bearer {world['api_token']}"}
    before = db.session.scalar(select(func.count(Client.id)))
    body = {"legal_name": 123, "trade_name": 1e300, "cnpj": 11222333000181, "email": 5, "plan_id": 1e400}
    response = client.post("/api/v1/clients", json=body, headers=headers)
    assert response.status_code == 422, response.get_data(as_text=True)
    assert db.session.scalar(select(func.count(Client.id))) == before


def test_1e400_in_a_staff_number_field_is_a_message_next_to_the_field(world, client, login_as, db, plan):
    login_as(world["users"]["admin"])
    before = db.session.scalar(select(func.count(Plan.id)))
    response = client.post("/admin/plans/new/", data={"software": str(plan.software_id), "name": "Infinito",
                                                      "price_cents": "1e400", "is_active": "y"})
    assert response.status_code == 200
    assert db.session.scalar(select(func.count(Plan.id))) == before


# -- NUL bytes: refused (400) with a Portuguese message, nothing saved -----------------------------------

NUL_MESSAGE = "caracteres inválidos (NUL)"


def test_nul_byte_in_a_panel_form_is_refused(world, client, login_as, db):
    login_as(world["users"]["manager"])
    before = db.session.scalar(select(func.count(Client.id)))
    response = client.post("/clientes/novo", data={"legal_name": "Padaria\x00 Ltda", "cnpj": "34028316000103"})
    assert response.status_code == 400
    assert NUL_MESSAGE in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count(Client.id))) == before


def test_nul_byte_in_an_api_body_is_refused(world, client, db):
    headers = {"Authorization": f"Bearer {world['api_token']}"}
    before = db.session.scalar(select(func.count(Client.id)))
    response = client.post("/api/v1/clients", json={"legal_name": "Padaria\x00", "nested": {"x": ["a\x00"]}},
                           headers=headers)
    assert response.status_code == 400
    error = response.get_json()["error"]
    assert error["code"] == "invalid_text" and NUL_MESSAGE in error["message"]
    assert db.session.scalar(select(func.count(Client.id))) == before


@pytest.mark.parametrize("url", ["/painel?q=abc%00", "/clientes/%00", "/login?next=%00"])
def test_nul_byte_in_a_url_is_refused(world, client, login_as, url):
    login_as(world["users"]["manager"])
    response = client.get(url)
    assert response.status_code == 400 and NUL_MESSAGE in response.get_data(as_text=True)


def test_an_escaped_nul_outside_strings_is_not_mistaken(world, client):
    """``\\u0000`` inside a JSON string is a NUL; the same six characters escaped again are not."""
    headers = {"Authorization": f"Bearer {world['api_token']}", "Content-Type": "application/json"}
    response = client.post("/api/v1/clients", data='{"legal_name": "a\\\\u0000b"}', headers=headers)
    assert response.status_code == 422  # validation of the other fields, not the NUL check


# -- staff lists: bad filter values are a message, not a 500 ---------------------------------------------


@pytest.mark.parametrize("url", [
    "/admin/payments/?flt0_0=abc",  # a status filter with fixed options
    "/admin/payments/?flt0_0=PENDING_APPROVAL",  # the member's name, not its stored value
    "/admin/outbox/?flt0_0=abc",  # an enum column's own filter
    "/admin/webhook_events/?flt0_1=abc",
    f"/admin/invoices/?flt0_1={HUGE}",  # an id filter
    "/admin/invoices/?flt0_2=Revenda",  # the partner-name filter (was always a 500)
    "/admin/invoices/?page=-1", f"/admin/invoices/?page={HUGE}", "/admin/invoices/?page=1e400",
])
def test_bad_filter_values_on_staff_lists(world, client, login_as, url):
    login_as(world["users"]["finance"])
    response = client.get(url)
    assert response.status_code == 200, url


def test_an_invalid_filter_value_is_reported(world, client, login_as):
    login_as(world["users"]["finance"])
    html = client.get("/admin/payments/?flt0_0=abc").get_data(as_text=True)
    assert "abc" in html and "alert" in html


def test_the_pagamentos_a_aprovar_shortcut_works_for_finance(world, client, login_as):
    login_as(world["users"]["finance"])
    home = unescape(client.get("/admin/").get_data(as_text=True))
    match = re.search(r'href="([^"]+)"[^>]*>\s*<div class="card-body">\s*<h3[^>]*>Pagamentos a aprovar', home)
    assert match, "the shortcut is on finance's home"
    response = client.get(match.group(1))
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "TED 777" in html  # the manual payment waiting for a second finance user
    assert "alert-danger" not in html, "the shortcut's filter value is one the filter accepts"
    assert "Aguardando aprovação" in html  # the filter is applied and shown
