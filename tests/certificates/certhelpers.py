"""Helpers shared by the certificate tests (fixture files, uploads); fixtures are in conftest.py."""

import io
from datetime import UTC, datetime

import pfxgen
from pfxgen import DUMMY, JAVA_NFE, PASSWORDS, SEFAZ_RS, SPED_CNPJ, SPED_CPF  # noqa: E402,F401,I001
from sqlalchemy import func, select

from certificates import services
from certificates.models import Certificate, CertificateAlert, IntegrationKey
from core.db import db as _db

CERTS = pfxgen.FIXTURE_CERTS
#: A moment when both company fixtures are valid (and the dummy one has expired), so the tests
#: do not depend on the day they run.
IN_2026 = datetime(2026, 6, 1, 12, tzinfo=UTC)


def fixture_bytes(name: str) -> bytes:
    return (CERTS / name).read_bytes()


def count(model) -> int:
    return _db.session.scalar(select(func.count()).select_from(model))


def counts() -> tuple[int, int, int]:
    return count(Certificate), count(CertificateAlert), count(IntegrationKey)


def upload(client, client_id: int, data: bytes | None, password: str = pfxgen.PASSWORD, filename="cert.pfx"):
    """POST the panel's upload form (CSRF is off in the ``client`` fixture)."""
    form = {"password": password}
    if data is not None:
        form["file"] = (io.BytesIO(data), filename)
    return client.post(f"/clientes/{client_id}/certificado", data=form, content_type="multipart/form-data")


def store_certificate(client_row, *, not_before=None, not_after=None, now=None, password=pfxgen.PASSWORD):
    """Upload a generated e-CNPJ for ``client_row`` through the service (its CNPJ goes in the certificate)."""
    data = pfxgen.ecnpj_pfx(client_row.cnpj, not_before=not_before, not_after=not_after, password=password)
    return services.upload_certificate(client_row, data, password, now=now or not_before)


def bearer(key: str) -> dict:
    return {"Authorization": f"Bearer {key}"}
