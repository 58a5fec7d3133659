"""The catalogue and partner staff views: software, plans (monthly prices) and partners."""

from flask import request
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from wtforms import validators

from core import validators as clean
from core.admin import NotNegative, StaffModelView, add_shortcut, cleaned_by, register_enum_labels, required, web_url
from core.db import db
from core.permissions import CATALOGUE_MANAGE
from core.validators import ValidationError
from partner.models import Partner, Payer, Plan, Software


class CatalogueView(StaffModelView):
    permission = CATALOGUE_MANAGE


class SoftwareView(CatalogueView):
    column_list = ("name", "url", "is_active", "created_at")
    column_details_list = ("name", "url", "is_active", "plans", "created_at")
    column_export_list = ("id", "name", "url", "is_active", "created_at")
    column_searchable_list = ("name",)
    column_filters = ("is_active",)
    form_columns = ("name", "url", "is_active")
    column_labels = {"url": _l("Endereço (URL)"), "plans": _l("Planos")}
    form_args = {
        "name": {"validators": [required(_l("Informe o nome do software.")), validators.Length(max=120)]},
        "url": {"validators": [required(_l("Informe o endereço do software.")), web_url, validators.Length(max=500)],
                "description": _l("Endereço de acesso, por exemplo https://app.exemplo.com.br")},
    }


class PlanView(CatalogueView):
    column_list = ("software", "name", "price_cents", "is_active", "created_at")
    column_details_list = ("software", "name", "price_cents", "is_active", "created_at")
    column_export_list = ("id", "software_id", "name", "price_cents", "is_active", "created_at")
    column_sortable_list = ("name", "price_cents", "created_at", ("software", "software.name"))
    column_filters = ("is_active", "software.name")
    form_columns = ("software", "name", "price_cents", "is_active")
    column_labels = {"software.name": _l("Software"), "software_id": _l("Software (código)")}
    form_args = {
        # A blank first option: the software is chosen on purpose, never by default.
        "software": {"allow_blank": True, "blank_text": "—",
                     "validators": [validators.DataRequired(message=str(_l("Escolha o software do plano.")))]},
        "name": {"validators": [required(_l("Informe o nome do plano.")), validators.Length(max=120)]},
        "price_cents": {
            "label": _l("Preço mensal (centavos)"),
            "description": _l("Em centavos: 4990 = R$ 49,90. A revenda que paga pelo cliente tem 50% de desconto."),
            "validators": [required(_l("Informe o preço em centavos.")),
                           NotNegative(_l("O preço não pode ser negativo."))],
        },
    }

    def check_form(self, form):
        if form.software.data is None or not form.name.data:
            return
        query = select(Plan.id).where(Plan.software_id == form.software.data.id,
                                      func.lower(Plan.name) == form.name.data.strip().lower())
        current = request.args.get("id", type=int)
        if current is not None and request.endpoint.endswith("edit_view"):
            query = query.where(Plan.id != current)
        if db.session.scalar(query) is not None:
            raise ValidationError({"name": _l("Este software já tem um plano com este nome.")})


class PartnerView(CatalogueView):
    column_list = ("legal_name", "trade_name", "cnpj", "email", "is_active", "created_at")
    column_details_list = ("legal_name", "trade_name", "cnpj", "email", "phone", "cep", "street", "number",
                           "complement", "district", "city", "state", "is_active", "linked_emails", "created_at")
    column_export_list = ("id", "legal_name", "trade_name", "cnpj", "email", "phone", "cep", "street", "number",
                          "complement", "district", "city", "state", "is_active", "created_at")
    column_searchable_list = ("legal_name", "trade_name", "cnpj", "email")
    column_filters = ("is_active", "state")
    column_formatters = {"cnpj": lambda v, c, m, n: clean.format_cnpj(m.cnpj)}
    column_formatters_detail = {
        "cnpj": lambda v, c, m, n: clean.format_cnpj(m.cnpj),
        "cep": lambda v, c, m, n: clean.format_cep(m.cep),
        "phone": lambda v, c, m, n: clean.format_phone(m.phone),
        "linked_emails": lambda v, c, m, n: ", ".join(e.email for e in m.linked_emails),
    }
    form_columns = ("legal_name", "trade_name", "cnpj", "email", "phone", "cep", "street", "number",
                    "complement", "district", "city", "state", "is_active")
    column_labels = {"email": _l("E-mail de cobrança"), "linked_emails": _l("E-mails vinculados")}
    form_args = {
        "legal_name": {"validators": [required(_l("Informe a razão social.")), validators.Length(max=200)]},
        "cnpj": {"validators": [cleaned_by(clean.clean_cnpj)], "description": _l("Com ou sem pontuação.")},
        "email": {"validators": [cleaned_by(clean.clean_email)]},
        "phone": {"validators": [cleaned_by(clean.clean_phone)]},
        "cep": {"validators": [cleaned_by(clean.clean_cep, required=False)]},
        "state": {"validators": [cleaned_by(clean.clean_uf, required=False)]},
    }



def register(admin) -> None:
    register_enum_labels(Payer, {Payer.PARTNER: _l("Revenda"), Payer.CLIENT: _l("Cliente")})
    admin.add_view(SoftwareView(Software, db, name="Software", category="Catálogo", endpoint="software"))
    admin.add_view(PlanView(Plan, db, name="Planos", category="Catálogo", endpoint="plans"))
    admin.add_view(PartnerView(Partner, db, name="Revendas", endpoint="partners"))
    add_shortcut(admin, "partners", CATALOGUE_MANAGE, _l("Revendas"), _l("Cadastro das revendas."), order=80)
    add_shortcut(admin, "plans", CATALOGUE_MANAGE, _l("Planos"), _l("Preços mensais por software."), order=90)
