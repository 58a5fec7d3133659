"""The invoice PDF (in Portuguese), rendered by WeasyPrint from a Jinja template.

Nothing is fetched while rendering (no network, no files outside the template), and the bytes
are built per request: nothing secret is cached."""

from flask import current_app, render_template
from weasyprint import HTML
from weasyprint.document import Document

from billing.models import Invoice

DEFAULT_ISSUER = {
    "name": "Revenda Software Fiscal Ltda",
    "cnpj": "11444777000161",
    "address": "Av. Paulista, 1000 — Bela Vista — São Paulo/SP — CEP 01310-100",
    "email": "financeiro@revenda.local",
}


def issuer() -> dict:
    """Who issues the invoices: ``BILLING_ISSUER`` in the app config, over the defaults."""
    return {**DEFAULT_ISSUER, **(current_app.config.get("BILLING_ISSUER") or {})}


def _no_fetch(url, *args, **kwargs):
    raise ValueError(f"external resource refused in invoice PDF: {url[:80]}")


def render_invoice_pdf(invoice: Invoice) -> bytes:
    return invoice_document(invoice).write_pdf()


def invoice_document(invoice: Invoice) -> Document:
    """The laid-out invoice (pages and boxes), before it is written as PDF bytes."""
    from billing import services

    html = render_template(
        "billing/invoice_pdf.html", invoice=invoice, payer=services.payer_of(invoice), issuer=issuer(),
        boleto=services.current_boleto(invoice), status=services.display_status(invoice),
        refunds=invoice.refunds, online=services.online_payments_enabled(), how_to_pay=services.how_to_pay(invoice),
        invoice_url=f"{current_app.config['PUBLIC_URL'].rstrip('/')}/faturas/{invoice.id}",  # as in the e-mails
    )
    return HTML(string=html, url_fetcher=_no_fetch).render()


def pdf_filename(invoice: Invoice) -> str:
    return f"fatura-{invoice.number or invoice.id}.pdf"
