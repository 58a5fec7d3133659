"""The client's "Histórico de alterações" for people: audit actions and fields in Portuguese, values
formatted (money, dates, CNPJ, statuses), long values cut short with the whole value kept for a tooltip.

The audit log itself stays as recorded (codes and raw values); only its presentation lives here.
"""

from dataclasses import dataclass
from datetime import datetime

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import to_user_timezone

from core.money import format_brl
from core.validators import format_cep, format_cnpj, format_phone
from partner.models import StatusReason

#: A value longer than this is cut (fingerprints, serials, long notes); the full text goes in ``title``.
MAX_VALUE_CHARS = 40

ACTION_LABELS = {
    "client.created": _l("Cliente cadastrado"),
    "client.updated": _l("Dados do cliente alterados"),
    "client.software_accessed": _l("Acesso ao software do cliente"),
    "contract.acceptance_requested": _l("E-mail de aceite enviado"),
    "contract.accepted": _l("Contrato aceito"),
    "contract.payer_changed": _l("Responsável pelo pagamento alterado"),
    "contract.plan_changed": _l("Plano alterado"),
    "contract.plan_change_scheduled": _l("Troca de plano agendada"),
    "contract.plan_change_cancelled": _l("Troca de plano agendada cancelada"),
    "contract.status_changed": _l("Status do contrato alterado"),
    "contract.trial_updated": _l("Período de teste alterado"),
    "contract.trial_warning_sent": _l("Aviso de fim do teste enviado"),
    "signup_link.used": _l("Cadastro pelo link de contratação"),
    "certificate.uploaded": _l("Certificado digital enviado"),
    "certificate.downloaded": _l("Certificado lido pelo software do cliente"),
    "certificate.expiry_alert": _l("Aviso de vencimento do certificado"),
    "integration_key.created": _l("Chave de integração criada"),
    "integration_key.rotated": _l("Nova chave de integração gerada"),
    "integration_key.revealed": _l("Chave de integração revelada"),
    "integration_key.revoked": _l("Chave de integração antiga encerrada"),
}

FIELD_LABELS = {
    "legal_name": _l("Razão social"),
    "trade_name": _l("Nome fantasia"),
    "cnpj": _l("CNPJ"),
    "email": _l("E-mail"),
    "phone": _l("Telefone"),
    "cep": _l("CEP"),
    "street": _l("Logradouro"),
    "number": _l("Número"),
    "complement": _l("Complemento"),
    "district": _l("Bairro"),
    "city": _l("Cidade"),
    "state": _l("UF"),
    "software_id": _l("Software (código)"),
    "plan_id": _l("Plano (código)"),
    "payer": _l("Responsável pelo pagamento"),
    "status": _l("Status"),
    "status_reason": _l("Motivo"),
    "note": _l("Observação"),
    "accountant_email": _l("E-mail do contador"),
    "trial_ends_at": _l("Fim do teste"),
    "trial_auto_activate": _l("Efetivar ao fim do teste"),
    "plan": _l("Plano"),
    "monthly_price_cents": _l("Mensalidade"),
    "effective_at": _l("Vale a partir de"),
    "terms_version": _l("Versão dos termos"),
    "key": _l("Chave"),
    "grace_seconds": _l("Carência"),
    "previous_key_expires_at": _l("Chave anterior vale até"),
    "common_name": _l("Titular"),
    "serial": _l("Número de série"),
    "fingerprint_sha256": _l("Impressão digital (SHA-256)"),
    "not_before": _l("Válido de"),
    "not_after": _l("Válido até"),
    "software": _l("Software"),
    "manager": _l("Gestor"),
    "threshold": _l("Dias antes do vencimento"),
    "recipients": _l("Destinatários"),
    "to": _l("Para"),
}

_STATUS = {"active": _l("Efetivado"), "trial": _l("Teste"), "blocked": _l("Bloqueado"), "cancelled": _l("Cancelado")}
_PAYER = {"partner": _l("Revenda (gestor)"), "client": _l("Cliente")}
_FORMATTERS = {"cnpj": format_cnpj, "cep": format_cep, "phone": format_phone}


@dataclass(frozen=True)
class Change:
    label: str
    text: str  # what the table shows (maybe cut short)
    full: str  # the whole value, for the tooltip

    @property
    def is_cut(self) -> bool:
        return self.text != self.full


@dataclass(frozen=True)
class HistoryRow:
    at: datetime
    actor: str
    action: str  # the audit code, kept visible for support
    action_label: str
    before: list[Change]
    after: list[Change]


def _reason_label(value: str) -> str:
    try:
        return StatusReason(value).label
    except ValueError:
        return value


def _datetime_text(value: str) -> str:
    try:
        return to_user_timezone(datetime.fromisoformat(value)).strftime("%d/%m/%Y %H:%M")
    except ValueError:
        return value


def _seconds_text(value: int) -> str:
    if value and value % 3600 == 0:
        return _("%(n)s h", n=value // 3600)
    return _("%(n)s s", n=value)


def value_text(key: str, value) -> str:
    """One recorded value in words: '—' for nothing, R$ for centavos, local time for timestamps…"""
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return _("Sim") if value else _("Não")
    if key.endswith("_cents") and isinstance(value, int):
        return format_brl(value)
    if key == "grace_seconds" and isinstance(value, int):
        return _seconds_text(value)
    if isinstance(value, str):
        if key in _FORMATTERS:
            return _FORMATTERS[key](value)
        if key == "status" and value in _STATUS:
            return str(_STATUS[value])
        if key == "payer" and value in _PAYER:
            return str(_PAYER[value])
        if key == "status_reason":
            return _reason_label(value)
        if key.endswith("_at") or key in ("not_before", "not_after"):
            return _datetime_text(value)
        return value
    return str(value)


def _changes(values: dict | None) -> list[Change]:
    changes = []
    for key, value in (values or {}).items():
        full = value_text(key, value)
        text = full if len(full) <= MAX_VALUE_CHARS else full[: MAX_VALUE_CHARS - 1] + "…"
        changes.append(Change(str(FIELD_LABELS.get(key, key)), text, full))
    return changes


def history_rows(events) -> list[HistoryRow]:
    """The audit events of one client, ready for the "Histórico de alterações" table."""
    return [
        HistoryRow(
            at=e.at, actor=e.actor_label, action=e.action,
            action_label=str(ACTION_LABELS.get(e.action, e.action)),
            before=_changes(e.before), after=_changes(e.after),
        )
        for e in events
    ]
