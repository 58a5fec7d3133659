"""Finance in the staff admin (issue 9): find an invoice by payer name or CNPJ, export it for Excel
pt-BR (XLSX and a ``;`` CSV with decimal comma and BOM, formula-safe), and record the amount and
the day a manual payment was received."""

import csv
import io
from datetime import timedelta

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from billing import services
from billing.export import safe_cell
from billing.models import Invoice, PaymentStatus
from billing.run import Month, run_monthly_billing
from core.validators import format_cnpj
from partner.models import Payer
from tests.factories import UserFactory


@pytest.fixture
def issued(db, partner, make_client):
    """Last month's invoices: the partner's consolidated one and a self-paying client's, whose name
    a spreadsheet would run as a formula."""
    mine = make_client(Payer.PARTNER, legal_name="Padaria Pão Quente Ltda")
    own = make_client(Payer.CLIENT, legal_name="=HYPERLINK(\"http://x.example\",\"Clique\")")
    run_monthly_billing(str(Month.of(services.local_today()).previous()))
    partner_invoice = db.session.scalar(select(Invoice).where(Invoice.payer_key == f"partner:{partner.id}"))
    client_invoice = db.session.scalar(select(Invoice).where(Invoice.client_id == own.id))
    return {"mine": mine, "own": own, "partner": partner, "partner_invoice": partner_invoice,
            "client_invoice": client_invoice}


def _listed(http, search: str) -> set[str]:
    html = http.get("/admin/invoices/", query_string={"search": search}).get_data(as_text=True)
    start = html.index("</thead>")
    body = html[start:html.index("</table>", start)]
    return {n for n in _all_numbers() if n in body}


def _all_numbers() -> set[str]:
    from core.db import db

    return set(db.session.scalars(select(Invoice.number).where(Invoice.number.is_not(None))))


def test_finance_finds_an_invoice_by_payer_name_or_cnpj(db, issued, login_as, finance_user):
    http = login_as(finance_user)
    partner_invoice, client_invoice = issued["partner_invoice"].number, issued["client_invoice"].number
    partner, own = issued["partner"], issued["own"]
    assert _listed(http, partner.legal_name) == {partner_invoice}
    assert _listed(http, "hyperlink") == {client_invoice}  # the client pays its own: its name finds it
    assert _listed(http, own.cnpj) == {client_invoice}  # digits only
    assert _listed(http, format_cnpj(own.cnpj)) == {client_invoice}  # as printed: 12.345.678/0001-90
    assert _listed(http, format_cnpj(partner.cnpj)[:10]) == {partner_invoice}  # the start of a formatted CNPJ
    assert _listed(http, partner_invoice) == {partner_invoice}  # the number still works
    assert _listed(http, "ninguém com este nome") == set()
    # The partner's name does not bring the self-paying client's invoice: the payer is the client.
    assert client_invoice not in _listed(http, partner.legal_name)
    html = http.get("/admin/invoices/").get_data(as_text=True)
    assert "Número, pagador ou CNPJ" in html


def _export(http, kind: str, **args):
    response = http.get(f"/admin/invoices/export/{kind}/", query_string=args)
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    return response


def test_xlsx_export_reads_back_typed_and_formula_safe(db, issued, login_as, finance_user):
    response = _export(login_as(finance_user), "xlsx")
    assert response.mimetype == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert ".xlsx" in response.headers["Content-Disposition"]
    sheet = load_workbook(io.BytesIO(response.get_data())).active
    header, *rows = [list(row) for row in sheet.iter_rows(values_only=True)]
    assert header[:9] == ["Número", "Referência", "Pagador", "CNPJ do pagador", "Tipo de pagador", "Revenda",
                          "Situação", "Vencimento", "Total (R$)"]
    by_number = {row[0]: row for row in rows}
    client_row = by_number[issued["client_invoice"].number]
    assert client_row[2] == "'=HYPERLINK(\"http://x.example\",\"Clique\")"  # text, never a formula
    assert client_row[3] == format_cnpj(issued["own"].cnpj) and client_row[4] == "Cliente"
    assert client_row[6] == "Pendente"  # not "open"
    assert client_row[7].date() == issued["client_invoice"].due_date  # a real date cell
    assert client_row[8] == pytest.approx(issued["client_invoice"].total_cents / 100)  # a number
    formula_cells = [c for row in sheet.iter_rows() for c in row if c.data_type == "f"]
    assert formula_cells == []
    partner_row = by_number[issued["partner_invoice"].number]
    assert partner_row[2] == issued["partner"].legal_name and partner_row[4] == "Revenda"


def test_excel_csv_is_semicolon_decimal_comma_with_bom(db, issued, login_as, finance_user):
    body = _export(login_as(finance_user), "excel-csv").get_data()
    assert body.startswith(b"\xef\xbb\xbf")  # UTF-8 BOM: Excel reads "Pão" and "Situação" right
    reader = csv.reader(io.StringIO(body.decode("utf-8-sig")), delimiter=";")
    header, *rows = list(reader)
    assert "Pagador" in header and "CNPJ do pagador" in header and "Situação" in header
    by_number = {row[0]: dict(zip(header, row, strict=True)) for row in rows}
    invoice = issued["client_invoice"]
    row = by_number[invoice.number]
    total = invoice.total_cents
    assert row["Total (R$)"] == f"{total // 100},{total % 100:02d}"  # decimal comma, no dot
    assert row["Situação"] == "Pendente" and row["Vencimento"] == invoice.due_date.strftime("%d/%m/%Y")
    assert row["Pagador"].startswith("'=")  # formula-safe
    assert row["CNPJ do pagador"] == format_cnpj(issued["own"].cnpj)


def test_exports_follow_the_search(db, issued, login_as, finance_user):
    body = _export(login_as(finance_user), "excel-csv", search=issued["own"].cnpj).get_data().decode("utf-8-sig")
    assert issued["client_invoice"].number in body and issued["partner_invoice"].number not in body


def test_machine_csv_stays_as_it_was(db, issued, login_as, finance_user):
    text = login_as(finance_user).get("/admin/invoices/export/csv/").get_data(as_text=True)
    assert text.splitlines()[0].count(",") > 5 and ",open," in text


@pytest.mark.parametrize("value, expected", [
    ("=1+1", "'=1+1"), ("+55 11", "'+55 11"), ("-3", "-3"), ("-3x", "'-3x"), ("@SUM(A1)", "'@SUM(A1)"), ("\tx", "'\tx"),
    ("\rx", "'\rx"), ("Pão Quente", "Pão Quente"), ("", ""), (12, 12), (None, None), ("a=b", "a=b"),
])
def test_safe_cell(value, expected):
    assert safe_cell(value) == expected


# -- manual payments: amount and day received -------------------------------------------------------------


def _post_payment(http, invoice, **data):
    form = {"reference": "PIX E1234", "amount": "", "received_on": "", **data}
    return http.post(f"/admin/invoices/{invoice.id}/manual-payment", data=form)


def test_manual_payment_records_amount_and_day_received(db, issued, login_as, finance_user):
    invoice = issued["partner_invoice"]
    http = login_as(finance_user)
    day = services.local_today() - timedelta(days=3)
    response = _post_payment(http, invoice, amount="1.234,56", received_on=day.isoformat())
    assert response.status_code == 302, response.get_data(as_text=True)[-2000:]
    [payment] = invoice.payments
    assert (payment.amount_cents, payment.received_on, payment.status) == (123456, day,
                                                                            PaymentStatus.PENDING_APPROVAL)
    html = http.get(f"/admin/invoices/details/?id={invoice.id}").get_data(as_text=True)
    assert "R$ 1.234,56" in html and day.strftime("%d/%m/%Y") in html and "Recebido em" in html
    html = http.get("/admin/payments/").get_data(as_text=True)
    assert day.strftime("%d/%m/%Y") in html and "Recebido em" in html
    # the second finance user approves: the invoice is paid, the recorded facts stay
    approver = UserFactory(role="finance")
    assert login_as(approver).post(f"/admin/invoices/{invoice.id}/payments/{payment.id}/approve").status_code == 302
    assert payment.status == PaymentStatus.SUCCEEDED and payment.received_on == day


@pytest.mark.parametrize("amount, received_on, field, message", [
    ("", "today", "amount", "Informe o valor recebido."),
    ("0,00", "today", "amount", "O valor recebido deve ser maior que zero."),
    ("-10,00", "today", "amount", "Valor recebido inválido"),
    ("dez reais", "today", "amount", "Valor recebido inválido"),
    ("100,00", "", "received_on", "Informe a data em que o pagamento foi recebido."),
    ("100,00", "tomorrow", "received_on", "A data de recebimento não pode estar no futuro."),
    ("100,00", "31/02/2026", "received_on", "Data de recebimento inválida"),
])
def test_manual_payment_refuses_bad_amount_or_day(db, issued, login_as, finance_user, amount, received_on, field,
                                                  message):
    invoice = issued["partner_invoice"]
    today = services.local_today()
    day = {"today": today.isoformat(), "tomorrow": (today + timedelta(days=1)).isoformat()}.get(received_on,
                                                                                             received_on)
    response = _post_payment(login_as(finance_user), invoice, amount=amount, received_on=day)
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert message in html and f'data-field-error="{field}"' in html and 'aria-invalid="true"' in html
    assert invoice.payments == []  # nothing saved


def test_typed_brazilian_date_and_amount_are_read(db, issued, finance_user):
    day = services.local_today() - timedelta(days=1)
    payment = services.record_manual_payment(issued["client_invoice"], "TED 9", actor=finance_user,
                                             amount="R$ 59,9", received_on=day.strftime("%d/%m/%Y"))
    assert (payment.amount_cents, payment.received_on) == (5990, day)
