"""The invoice PDF (in Portuguese), rendered by WeasyPrint from a Jinja template.

Nothing is fetched while rendering (no network, no files outside the template), and the bytes
are built per request: nothing secret is cached."""

import warnings

from flask import render_template

from billing import services
from billing.issuer import DEFAULT_ISSUER, issuer  # noqa: F401 - re-exported (views, tests)
from billing.models import Invoice
from core.urls import public_url

#: What WeasyPrint says at import on a machine without libharfbuzz-subset0 (it then subsets the
#: fonts with fontTools: same PDF, a little slower). Tolerated here and in pyproject.toml, nothing else.
HARFBUZZ_SUBSET_WARNING = "HarfBuzz-Subset will be required by future versions of WeasyPrint"

with warnings.catch_warnings():
    warnings.filterwarnings("ignore", message=HARFBUZZ_SUBSET_WARNING, category=DeprecationWarning)
    from weasyprint import HTML
    from weasyprint.document import Document


def _no_fetch(url, *args, **kwargs):
    raise ValueError(f"external resource refused in invoice PDF: {url[:80]}")


def render_invoice_pdf(invoice: Invoice) -> bytes:
    return invoice_document(invoice).write_pdf()


def invoice_document(invoice: Invoice) -> Document:
    """The laid-out invoice (pages and boxes), before it is written as PDF bytes."""
    html = render_template(
        "billing/invoice_pdf.html", invoice=invoice, payer=services.payer_of(invoice), issuer=issuer(),
        boleto=services.current_boleto(invoice), status=services.display_status(invoice),
        refunds=invoice.refunds, online=services.online_payments_enabled(), how_to_pay=services.how_to_pay(invoice),
        invoice_url=public_url("billing.invoice", invoice_id=invoice.id),  # as in the e-mails
    )
    return HTML(string=html, url_fetcher=_no_fetch).render()


def pdf_filename(invoice: Invoice) -> str:
    return f"fatura-{invoice.number or invoice.id}.pdf"
