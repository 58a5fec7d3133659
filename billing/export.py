"""Invoice exports for people: an Excel workbook (XLSX) and a CSV that Excel pt-BR opens as it is
(``;`` separator, decimal comma, UTF-8 with BOM), both with the payer's name and CNPJ and the status
in words. The staff admin's plain CSV stays for machines.

Every text cell goes through ``safe_cell``: a value a spreadsheet would run as a formula (a payer
named "=HYPERLINK(…)") is kept as text."""

import csv
import io
from datetime import date, datetime

from flask_babel import gettext as _
from flask_babel import to_user_timezone
from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from sqlalchemy import select

from billing import services
from billing.models import Invoice
from core.csvsafe import safe_cell
from core.db import db
from core.validators import format_cnpj
from partner.models import Client, Payer


def _status_label(invoice: Invoice) -> str:
    from billing.views import STATUS_LABELS

    status = services.display_status(invoice)
    return str(STATUS_LABELS.get(status, status))


def _local(moment: datetime | None) -> datetime | None:
    """Local wall-clock time without a zone (spreadsheets have no time zones)."""
    return None if moment is None else to_user_timezone(moment).replace(tzinfo=None)


def columns() -> list[str]:
    return [_("Número"), _("Referência"), _("Pagador"), _("CNPJ do pagador"), _("Tipo de pagador"), _("Revenda"),
            _("Situação"), _("Vencimento"), _("Total (R$)"), _("Emitida em"), _("Paga em"),
            _("Motivo do cancelamento")]


def rows(invoices: list[Invoice]) -> list[list]:
    """One row per invoice, typed values (date, datetime, centavos as int) for the writers below."""
    client_ids = {i.client_id for i in invoices if i.client_id}
    if client_ids:  # one query: the payer lookups below then come from the identity map
        db.session.scalars(select(Client).where(Client.id.in_(client_ids))).all()
    table = []
    for invoice in invoices:
        payer = services.payer_of(invoice)
        table.append([
            invoice.number or "", f"{invoice.month[5:]}/{invoice.month[:4]}", payer.legal_name,
            format_cnpj(payer.cnpj or ""), _("Revenda") if invoice.payer == Payer.PARTNER else _("Cliente"),
            invoice.partner.legal_name, _status_label(invoice), invoice.due_date, invoice.total_cents,
            _local(invoice.issued_at), _local(invoice.paid_at), invoice.void_reason or "",
        ])
    return table


TOTAL_COLUMN = 8


def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.strftime("%d/%m/%Y %H:%M")
    if isinstance(value, date):
        return value.strftime("%d/%m/%Y")
    return str(value)


def _brl_number(cents: int) -> str:
    """1234,56: a number Excel pt-BR reads as a number (no thousands separator to misread)."""
    sign = "-" if cents < 0 else ""
    return f"{sign}{abs(cents) // 100},{abs(cents) % 100:02d}"


def to_csv_br(invoices: list[Invoice]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    writer.writerow(columns())
    for row in rows(invoices):
        writer.writerow([_brl_number(v) if i == TOTAL_COLUMN else safe_cell(_text(v)) for i, v in enumerate(row)])
    return buffer.getvalue().encode("utf-8-sig")


def to_xlsx(invoices: list[Invoice]) -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.title = _("Faturas")
    sheet.append(columns())
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for row in rows(invoices):
        values = []
        for index, value in enumerate(row):
            if index == TOTAL_COLUMN:
                value = value / 100
            elif isinstance(value, str):
                value = safe_cell(ILLEGAL_CHARACTERS_RE.sub("", value))
            values.append(value)
        sheet.append(values)
    for cells in sheet.iter_rows(min_row=2):
        for cell in cells:
            if isinstance(cell.value, datetime):
                cell.number_format = "DD/MM/YYYY HH:MM"
            elif isinstance(cell.value, date):
                cell.number_format = "DD/MM/YYYY"
            elif cell.column == TOTAL_COLUMN + 1:
                cell.number_format = "#,##0.00"
            elif isinstance(cell.value, str):
                cell.data_type = "s"  # never a formula, whatever openpyxl guessed
    widths = (13, 11, 40, 20, 15, 32, 12, 12, 13, 17, 17, 40)
    for index, width in enumerate(widths, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = width
    sheet.freeze_panes = "A2"
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


FORMATS = {
    "xlsx": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "xlsx", to_xlsx),
    "excel-csv": ("text/csv; charset=utf-8", "csv", to_csv_br),
}
