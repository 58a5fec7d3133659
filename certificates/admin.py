"""Staff views: certificate metadata and expiry alerts, read-only; never the encrypted blobs."""

from certificates.models import Certificate, CertificateAlert, IntegrationKey
from core.admin import ReadOnlyView
from core.db import db

_CERT_COLUMNS = (
    "client", "cnpj", "common_name", "not_before", "not_after", "is_active", "uploaded_at", "replaced_at",
)
_CERT_DETAILS = (
    "client", "cnpj", "subject", "common_name", "issuer", "serial", "fingerprint_sha256", "not_before",
    "not_after", "is_active", "uploaded_at", "uploaded_by", "replaced_at", "key_id",
)
_SECRET_COLUMNS = ("pfx_encrypted", "password_encrypted", "key_encrypted", "key_hash")


class CertificateView(ReadOnlyView):
    column_list = _CERT_COLUMNS
    column_details_list = _CERT_DETAILS
    column_export_list = _CERT_DETAILS
    column_exclude_list = _SECRET_COLUMNS[:2]
    form_excluded_columns = _SECRET_COLUMNS[:2]
    column_default_sort = ("not_after", False)
    column_filters = ("is_active", "cnpj")
    column_searchable_list = ("cnpj", "common_name", "fingerprint_sha256", "serial")
    column_labels = {
        "client": "Cliente", "common_name": "Titular", "not_before": "Válido de", "not_after": "Válido até",
        "is_active": "Atual", "uploaded_at": "Enviado em", "replaced_at": "Substituído em",
        "uploaded_by": "Enviado por", "fingerprint_sha256": "Impressão digital (SHA-256)", "serial": "Série",
        "issuer": "Emissor", "subject": "Titular (DN)", "key_id": "Chave mestra",
    }


def _threshold(view, context, model, name):
    return "No vencimento" if model.threshold == 0 else f"{model.threshold} dia(s) antes"


class CertificateAlertView(ReadOnlyView):
    column_list = ("certificate", "threshold", "recipients", "sent_at")
    column_details_list = column_list
    column_export_list = column_list
    column_default_sort = ("sent_at", True)
    column_filters = ("threshold",)
    column_labels = {"certificate": "Certificado", "threshold": "Aviso", "recipients": "Destinatários",
                     "sent_at": "Enviado em"}
    column_formatters = {"threshold": _threshold}


class IntegrationKeyView(ReadOnlyView):
    column_list = ("client", "masked", "created_at", "created_by", "expires_at", "revoked_at")
    column_details_list = ("client", "masked", "created_at", "created_by", "expires_at", "revoked_at", "key_id")
    column_export_list = column_list
    column_exclude_list = _SECRET_COLUMNS[2:]
    form_excluded_columns = _SECRET_COLUMNS[2:]
    column_default_sort = ("created_at", True)
    column_labels = {"client": "Cliente", "masked": "Chave", "created_at": "Criada em", "created_by": "Criada por",
                     "expires_at": "Expira em", "revoked_at": "Encerrada em", "key_id": "Chave mestra"}


def register(admin) -> None:
    admin.add_view(CertificateView(Certificate, db, name="Certificados", category="Certificados",
                                   endpoint="admin_certificates"))
    admin.add_view(CertificateAlertView(CertificateAlert, db, name="Alertas de vencimento", category="Certificados",
                                        endpoint="admin_certificate_alerts"))
    admin.add_view(IntegrationKeyView(IntegrationKey, db, name="Chaves de integração", category="Certificados",
                                      endpoint="admin_integration_keys"))
