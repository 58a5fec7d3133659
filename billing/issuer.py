"""Who issues the invoices (the PDF, the e-mails, the finance contact)."""

from flask import current_app

DEFAULT_ISSUER = {
    "name": "Revenda Software Fiscal Ltda",
    "cnpj": "11444777000161",
    "address": "Av. Paulista, 1000 — Bela Vista — São Paulo/SP — CEP 01310-100",
    "email": "financeiro@revenda.local",
}


def issuer() -> dict:
    """Who issues the invoices: ``BILLING_ISSUER`` in the app config, over the defaults."""
    return {**DEFAULT_ISSUER, **(current_app.config.get("BILLING_ISSUER") or {})}
