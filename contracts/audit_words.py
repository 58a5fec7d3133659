"""The contracts domain's words for the audit log (core/audit_words.py): status, acceptance, plans,
trials and signup links. Contract events are what a client's accountant may read."""

from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from sqlalchemy import select

from contracts.models import CHANNEL_LABELS, LINK_STATE_LABELS, REASON_LABELS, SignupLink
from core.audit_words import register_actions, register_fields, register_formatter, register_reference, register_values
from core.db import db

register_actions({
    "contract.acceptance_requested": _l("E-mail de aceite enviado"),
    "contract.accepted": _l("Contrato aceito"),
    "contract.payer_changed": _l("Responsável pelo pagamento alterado"),
    "contract.plan_changed": _l("Plano alterado"),
    "contract.plan_change_scheduled": _l("Troca de plano agendada"),
    "contract.plan_change_cancelled": _l("Troca de plano agendada cancelada"),
    "contract.status_changed": _l("Status do contrato alterado"),
    "contract.trial_updated": _l("Período de teste alterado"),
    "contract.trial_warning_sent": _l("Aviso de fim do teste enviado"),
    "signup_link.created": _l("Link de contratação criado"),
    "signup_link.revoked": _l("Link de contratação revogado"),
    "signup_link.sent": _l("Link de contratação enviado por e-mail"),
    "signup_link.used": _l("Cadastro pelo link de contratação"),
}, accountant={
    "contract.acceptance_requested", "contract.accepted", "contract.payer_changed", "contract.plan_changed",
    "contract.plan_change_scheduled", "contract.plan_change_cancelled", "contract.status_changed",
    "contract.trial_updated", "signup_link.used",
})

register_fields({
    "status_reason": _l("Motivo"),
    "note": _l("Observação"),
    "trial_ends_at": _l("Fim do teste"),
    "trial_auto_activate": _l("Efetivar ao fim do teste"),
    "plan": _l("Plano"),
    "monthly_price_cents": _l("Mensalidade"),
    "effective_at": _l("Vale a partir de"),
    "terms_version": _l("Versão dos termos"),
    "text_sha256": _l("Resumo do texto aceito (SHA-256)"),
    "ip": _l("Endereço IP"),
    "channel": _l("Onde"),
    "trial_days": _l("Dias de teste"),
    "client_email": _l("E-mail do cliente"),
    "expires_at": _l("Válido até"),
    "to": _l("Para"),
})
register_fields({"state": _l("Situação")}, scope="signup_link")

register_values("status_reason", REASON_LABELS)
register_values("channel", CHANNEL_LABELS)
register_values("state", LINK_STATE_LABELS, scope="signup_link")
register_formatter("trial_days", lambda n: ngettext("%(num)d dia", "%(num)d dias", int(n)) if n else _l("sem teste"))


def _links(ids) -> dict:
    from flask_babel import to_user_timezone

    ints = [int(i) for i in ids if str(i).isdigit()]
    rows = db.session.scalars(select(SignupLink).where(SignupLink.id.in_(ints))) if ints else []
    return {link.id: str(_l("link criado em %(d)s", d=to_user_timezone(link.created_at).strftime("%d/%m/%Y")))
            for link in rows}


register_reference("signup_link_id", _l("Link de contratação"), _links)
