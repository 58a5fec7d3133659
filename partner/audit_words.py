"""The partner domain's words for the audit log (core/audit_words.py): clients, partners, tokens."""

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from core.audit_words import register_actions, register_fields, register_formatter, register_reference, register_values
from core.db import db
from core.validators import format_cep, format_cnpj, format_phone
from partner.models import LINK_STATUS_LABELS, Client, ContractStatus, Partner, Payer, Plan, Software

register_actions({
    "client.created": _l("Cliente cadastrado"),
    "client.updated": _l("Dados do cliente alterados"),
    "client.software_accessed": _l("Acesso ao software do cliente"),
    "partner.updated": _l("Dados da revenda alterados"),
    "partner.email_added": _l("E-mail vinculado à revenda"),
    "partner.email_removed": _l("E-mail desvinculado da revenda"),
    "api_token.created": _l("Token da API criado"),
    "api_token.revoked": _l("Token da API revogado"),
    "accountant.invited": _l("Contador convidado"),
    "accountant.resent": _l("Convite ao contador reenviado"),
    "accountant.accepted": _l("Contador aceitou o vínculo"),
    "accountant.declined": _l("Contador recusou o vínculo"),
    "accountant.dropped": _l("Contador deixou a empresa"),
    "accountant.removed": _l("Contador removido"),
    "accountant.export_day_changed": _l("Dia da exportação automática alterado pelo contador"),
}, accountant={"client.created", "client.updated"})

register_fields({
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
    "payer": _l("Responsável pelo pagamento"),
    "status": _l("Status"),
    "accountant_email": _l("E-mail do contador"),
    "software": _l("Software"),
    "manager": _l("Gestor"),
    "name": _l("Nome"),
    "prefix": _l("Início do token"),
    "link_status": _l("Vínculo do contador"),
    "export_day": _l("Dia da exportação automática"),
})
register_values("link_status", LINK_STATUS_LABELS)

register_values("status", {
    ContractStatus.ACTIVE: _l("Efetivado"), ContractStatus.TRIAL: _l("Teste"),
    ContractStatus.BLOCKED: _l("Bloqueado"), ContractStatus.CANCELLED: _l("Cancelado"),
})
register_values("payer", {Payer.PARTNER: _l("Revenda (gestor)"), Payer.CLIENT: _l("Cliente")})
register_formatter("cnpj", format_cnpj)
register_formatter("cep", format_cep)
register_formatter("phone", format_phone)
register_formatter("prefix", lambda v: f"{v}…")
register_formatter("export_day", lambda v: _l("dia %(n)s", n=v) if v else _l("dia 5 (padrão)"))
register_formatter("number", lambda v: _l("nº %(n)s", n=v), scope="client")
register_formatter("number", lambda v: _l("nº %(n)s", n=v), scope="partner")


def _names(model, ids, label=str) -> dict:
    ints = [int(i) for i in ids if str(i).isdigit()]
    if not ints:
        return {}
    return {row.id: label(row) for row in db.session.scalars(select(model).where(model.id.in_(ints)))}


register_reference("software_id", _l("Software"), lambda ids: _names(Software, ids))
register_reference("plan_id", _l("Plano"), lambda ids: _names(Plan, ids))
register_reference("partner_id", _l("Revenda"), lambda ids: _names(Partner, ids))
register_reference("client_id", _l("Cliente"), lambda ids: _names(Client, ids, lambda c: c.legal_name))
