"""The certificates domain's words for the audit log (core/audit_words.py): A1 certificates and
integration keys. The accountant sees a certificate arriving, never the keys."""

from flask_babel import lazy_gettext as _l
from flask_babel import ngettext

from certificates.services import GRACE_CHOICES
from core.audit_words import format_instant, register_actions, register_fields, register_formatter

register_actions({
    "certificate.uploaded": _l("Certificado digital enviado"),
    "certificate.downloaded": _l("Certificado lido pelo software do cliente"),
    "certificate.expiry_alert": _l("Aviso de vencimento do certificado"),
    "integration_key.created": _l("Chave de integração criada"),
    "integration_key.rotated": _l("Nova chave de integração gerada"),
    "integration_key.revealed": _l("Chave de integração revelada"),
    "integration_key.revoked": _l("Chave de integração antiga encerrada"),
}, accountant={"certificate.uploaded"})

register_fields({
    "key": _l("Chave"),
    "integration_key": _l("Chave usada"),
    "grace_seconds": _l("Carência"),
    "previous_key_expires_at": _l("Chave anterior vale até"),
    "common_name": _l("Titular"),
    "serial": _l("Número de série"),
    "fingerprint_sha256": _l("Impressão digital (SHA-256)"),
    "not_before": _l("Válido de"),
    "not_after": _l("Válido até"),
    "threshold": _l("Quando"),
    "recipients": _l("Destinatários"),
})


def _grace(seconds) -> str:
    if seconds in GRACE_CHOICES:
        return str(GRACE_CHOICES[seconds])
    return str(_l("%(n)s h", n=seconds // 3600)) if seconds and seconds % 3600 == 0 else str(_l("%(n)s s", n=seconds))


def _threshold(days) -> str:
    if not days:
        return str(_l("no dia do vencimento"))
    return ngettext("%(num)d dia antes do vencimento", "%(num)d dias antes do vencimento", int(days))


register_formatter("grace_seconds", _grace)
register_formatter("threshold", _threshold)
register_formatter("recipients", lambda n: ngettext("%(num)d destinatário", "%(num)d destinatários", int(n)))
register_formatter("not_before", format_instant)
register_formatter("not_after", format_instant)
