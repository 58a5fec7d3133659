"""Staff admin (Flask-Admin): only staff reach it; every view checks its own permission.

Presentation is decided once, in ``StaffModelView``, for every domain's views: local dates
(America/Sao_Paulo, DD/MM/AAAA HH:MM), money columns (``*_cents``) as "R$ 1.234,56", enums and
booleans in Portuguese, a shared map of Portuguese column titles. CSV exports stay machine-readable:
ISO 8601 UTC datetimes, integer centavos, enum values."""

import csv
import enum
import io
import json
import logging
from datetime import date, datetime
from urllib.parse import urlparse

from flask import Response, abort, flash, redirect, request, session, url_for
from flask_admin import Admin, AdminIndexView, expose
from flask_admin._compat import csv_encode
from flask_admin.actions import action
from flask_admin.contrib.sqla import ModelView
from flask_admin.contrib.sqla import filters as sqla_filters
from flask_admin.contrib.sqla.validators import Unique
from flask_admin.helpers import is_form_submitted
from flask_admin.model import filters as base_filters
from flask_admin.theme import Bootstrap4Theme
from flask_admin.tools import rec_getattr
from flask_babel import lazy_gettext as _l
from flask_babel import to_user_timezone
from flask_login import current_user
from markupsafe import Markup, escape
from sqlalchemy import func, inspect, select
from sqlalchemy.exc import IntegrityError
from werkzeug.utils import secure_filename
from wtforms import SelectField, validators
from wtforms.validators import ValidationError as FieldError

from core import validators as clean
from core.db import db
from core.mail import OutboxStatus
from core.permissions import (
    AUDIT_VIEW,
    CATALOGUE_MANAGE,
    INVOICES_REVIEW,
    OUTBOX_VIEW,
    STAFF_ADMIN,
    USERS_MANAGE,
    Role,
    has_permission,
)
from core.validators import ValidationError

log = logging.getLogger(__name__)

# -- Portuguese presentation ------------------------------------------------------------------------

#: Column titles shared by every staff view; a view's own ``column_labels`` extend and override them.
DEFAULT_LABELS = {
    "id": "Código",
    "created_at": _l("Criado em"),
    "updated_at": _l("Atualizado em"),
    "is_active": _l("Ativo"),
    "email": _l("E-mail"),
    "name": _l("Nome"),
    "partner": _l("Revenda"),
    "partner_id": _l("Revenda (código)"),
    "client": _l("Cliente"),
    "client_id": _l("Cliente (código)"),
    "user": _l("Usuário"),
    "status": _l("Situação"),
    "software": _l("Software"),
    "plan": _l("Plano"),
    "invoice": _l("Fatura"),
    "payer": _l("Pagador"),
    "kind": _l("Tipo"),
    "type": _l("Tipo"),
    "reason": _l("Motivo"),
    "note": _l("Observação"),
    "error": _l("Erro"),
    "ip": "IP",
    "at": _l("Quando"),
    "sent_at": _l("Enviado em"),
    "received_at": _l("Recebido em"),
    "processed_at": _l("Processado em"),
    "expires_at": _l("Expira em"),
    "revoked_at": _l("Revogado em"),
    "created_by": _l("Criado por"),
    "legal_name": _l("Razão social"),
    "trade_name": _l("Nome fantasia"),
    "cnpj": "CNPJ",
    "phone": _l("Telefone"),
    "cep": "CEP",
    "street": _l("Logradouro"),
    "number": _l("Número"),
    "complement": _l("Complemento"),
    "district": _l("Bairro"),
    "city": _l("Cidade"),
    "state": "UF",
    "price_cents": _l("Preço mensal"),
    "amount_cents": _l("Valor"),
    "total_cents": _l("Total"),
    "payload": _l("Conteúdo"),
}

ROLE_LABELS = {
    Role.ADMIN: _l("Administrador"),
    Role.FINANCE: _l("Financeiro"),
    Role.MANAGER: _l("Gestor"),
    Role.ACCOUNTANT: _l("Contador"),
    Role.CLIENT: _l("Cliente"),
}

OUTBOX_STATUS_LABELS = {
    OutboxStatus.PENDING: _l("Na fila"),
    OutboxStatus.SENT: _l("Enviado"),
    OutboxStatus.KEPT: _l("Guardado (sem envio)"),
    OutboxStatus.FAILED: _l("Falhou"),
}

_ENUM_LABELS: dict[type, dict] = {Role: ROLE_LABELS, OutboxStatus: OUTBOX_STATUS_LABELS}


def register_enum_labels(enum_cls: type[enum.Enum], labels: dict) -> None:
    """Portuguese labels for a domain's enum, used by every staff list, detail page and filter."""
    _ENUM_LABELS[enum_cls] = labels


def enum_label(value: enum.Enum) -> str:
    """The registered label, else the stored value (never the Python member name)."""
    labels = _ENUM_LABELS.get(type(value), {})
    return str(labels.get(value, value.value))


def format_local_datetime(value: datetime) -> str:
    return to_user_timezone(value).strftime("%d/%m/%Y %H:%M")


def format_date(value: date) -> str:
    return value.strftime("%d/%m/%Y")


def _money(view, context, model, name):
    from billing.pricing import format_brl

    value = rec_getattr(model, name)
    return "" if value is None else format_brl(value)


def _bool_icon(view, value, name):
    text = "Sim" if value else "Não"
    icon = "fa-check-circle text-success" if value else "fa-minus-circle text-muted"
    return Markup(f'<span class="fa {icon}" title="{text}" aria-hidden="true"></span>'
                  f'<span class="sr-only">{text}</span>')


def _json_text(value) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)


#: Datetime before date: a datetime is a date too, and the first matching type wins.
LIST_TYPE_FORMATTERS = {
    type(None): lambda view, value, name: "",
    datetime: lambda view, value, name: format_local_datetime(value),
    date: lambda view, value, name: format_date(value),
    enum.Enum: lambda view, value, name: enum_label(value),
    bool: _bool_icon,
    list: lambda view, value, name: ", ".join(str(v) for v in value),
    dict: lambda view, value, name: _json_text(value),
}

EXPORT_TYPE_FORMATTERS = {
    type(None): lambda view, value, name: "",
    datetime: lambda view, value, name: value.isoformat(),
    date: lambda view, value, name: value.isoformat(),
    enum.Enum: lambda view, value, name: value.value,
    list: lambda view, value, name: ", ".join(str(v) for v in value),
    dict: lambda view, value, name: _json_text(value),
}


class LabelledFilterConverter(sqla_filters.FilterConverter):
    """Enum filters offer the Portuguese labels (Flask-Admin's own look members up by name and
    fail with the values it offers)."""

    @base_filters.convert("enum")
    def conv_enum(self, column, name, options=None, **kwargs):
        enum_cls = column.type.enum_class
        if not options and enum_cls is not None:
            options = [(member.name, enum_label(member)) for member in enum_cls]
        return super().conv_enum(column, name, options, **kwargs)


# -- form helpers -----------------------------------------------------------------------------------


def cleaned_by(rule, **kwargs):
    """A WTForms validator from a ``core.validators`` clean_* rule: one rule, one message, and the
    field keeps the cleaned value (CNPJ digits, lower-case e-mail…)."""

    def validate(form, field):
        try:
            field.data = rule(field.data, **kwargs)
        except ValueError as exc:
            raise FieldError(str(exc)) from None

    return validate


def web_url(form, field):
    """An http(s) address with a host."""
    value = (field.data or "").strip()
    parsed = urlparse(value)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise FieldError(str(_l("Informe um endereço completo começando com http:// ou https://.")))
    field.data = value


class NotNegative(validators.NumberRange):
    """``>= 0``; a value that is not a number already has its own message."""

    def __init__(self, message):
        super().__init__(min=0, message=str(message))

    def __call__(self, form, field):
        if field.data is not None:
            super().__call__(form, field)


def required(message):
    return validators.InputRequired(message=str(message))


def add_field_errors(form, fields: dict) -> None:
    """Show a service's ``ValidationError`` messages next to their fields."""
    for name, message in fields.items():
        field = form[name] if name in form else None
        if field is None:
            flash(str(message), "error")
            continue
        field.errors = [*field.errors, str(message)]


# -- base views -------------------------------------------------------------------------------------


#: Flask-Admin messages its pt_BR catalogue lacks.
_FLASH_TRANSLATIONS = {
    "Failed to create record.": _l("Nada foi salvo: corrija os campos destacados."),
    "Failed to save record.": _l("Nada foi salvo: corrija os campos destacados."),
}


def _translate_flashes() -> None:
    """Rewrite the pending flash messages before a page shows them."""
    flashes = session.get("_flashes")
    if flashes and any(message in _FLASH_TRANSLATIONS for _, message in flashes):
        session["_flashes"] = [(category, str(_FLASH_TRANSLATIONS.get(message, message)))
                               for category, message in flashes]


class _Guard:
    permission = STAFF_ADMIN

    def is_accessible(self):
        return has_permission(current_user, self.permission)

    def inaccessible_callback(self, name, **kwargs):
        if not current_user.is_authenticated:
            return redirect(url_for("accounts.login", next=request.full_path))
        abort(403)


class StaffModelView(_Guard, ModelView):
    """Base for staff views: role-checked, CSV export capped, Portuguese and local-time presentation.

    Rows are deactivated, never deleted (history and foreign keys keep pointing at them)."""

    def _export_csv(self, return_url):
        """CSV built inside the request (capped by ``export_max_rows``).

        Flask-Admin streams the CSV after the view returns: by then the request boundary has
        committed (expiring every row) and the app context's teardown has removed the session,
        so a real server's download broke after the header with a DetachedInstanceError."""
        _count, data = self._export_data()
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow([csv_encode(title) for _name, title in self._export_columns])
        for row in data:
            writer.writerow([csv_encode(self.get_export_value(row, name)) for name, _title in self._export_columns])
        return Response(buffer.getvalue(), mimetype="text/csv", headers={
            "Content-Disposition": f"attachment;filename={secure_filename(self.get_export_name(export_type='csv'))}"})

    can_export = True
    export_max_rows = 5000
    export_types = ["csv"]
    page_size = 50
    can_view_details = True
    can_delete = False
    filter_converter = LabelledFilterConverter()
    column_type_formatters = LIST_TYPE_FORMATTERS
    column_type_formatters_detail = LIST_TYPE_FORMATTERS
    column_type_formatters_export = EXPORT_TYPE_FORMATTERS

    def __init__(self, model, db_session, *args, **kwargs):
        # Before Flask-Admin builds its caches (filters and forms read the labels).
        self.column_labels = {**DEFAULT_LABELS, **(self.column_labels or {})}
        money = {name: _money for name in self._money_columns(model)}
        own_export = self.column_formatters_export
        own_detail = self.column_formatters_detail
        self.column_formatters = {**money, **(self.column_formatters or {})}
        if own_detail is not None:
            self.column_formatters_detail = {**money, **own_detail}
        # Exports are for machines: raw values unless the view says otherwise.
        self.column_formatters_export = {} if own_export is None else own_export
        super().__init__(model, db_session, *args, **kwargs)

    def _money_columns(self, model) -> list[str]:
        names = {attr.key for attr in inspect(model).column_attrs}
        for listed in (self.column_list, self.column_details_list):
            names.update(n for n in listed or () if isinstance(n, str))
        return sorted(n for n in names if n.endswith("_cents"))

    def render(self, template, **kwargs):
        _translate_flashes()
        return super().render(template, **kwargs)

    def validate_form(self, form):
        """Field validators, then the view's rules across fields (``check_form``) on the create and
        edit forms only (the action form goes through here too). Every message lands next to its
        field; a field that already has one keeps just that one."""
        if not self._is_model_form():
            return super().validate_form(form)
        self.prepare_form(form)
        valid = super().validate_form(form)
        if not is_form_submitted():
            return valid
        try:
            self.check_form(form)
        except ValidationError as exc:
            add_field_errors(form, {k: v for k, v in exc.fields.items() if k not in form or not form[k].errors})
            return False
        return valid

    @staticmethod
    def _is_model_form() -> bool:
        return (request.endpoint or "").rsplit(".", 1)[-1] in ("create_view", "edit_view")

    def prepare_form(self, form) -> None:
        """Adjust a create/edit form before it validates (subclasses)."""

    def check_form(self, form) -> None:
        """Rules across fields (subclasses): raise ``core.validators.ValidationError``."""

    def handle_view_exception(self, exc: Exception) -> bool:
        """Portuguese messages, never SQL or a stack trace on the page."""
        if isinstance(exc, ValidationError):
            for message in exc.fields.values():
                flash(str(message), "error")
            return True
        if isinstance(exc, FieldError):
            flash(str(exc), "error")
            return True
        if isinstance(exc, IntegrityError):
            log.warning("integrity error in staff admin %s: %s", self.endpoint, exc.orig)
            flash(str(_l("Conflito com um registro existente: verifique os campos únicos.")), "error")
            return True
        log.exception("staff admin %s failed", self.endpoint)
        flash(str(_l("Não foi possível salvar. Tente novamente; se persistir, avise a equipe técnica.")), "error")
        return True


class ReadOnlyView(StaffModelView):
    can_create = False
    can_edit = False
    can_delete = False


# -- index page -------------------------------------------------------------------------------------


def filtered_url(view, filter_name: str, value: str) -> str:
    """The list URL of ``view`` with the filter named ``filter_name`` applied (its plain list when the
    filter does not exist)."""
    for index, flt in enumerate(view._filters or ()):
        if str(flt.name) == filter_name:
            arg = view.get_filter_arg(index, flt)
            return url_for(f"{view.endpoint}.index_view", **{f"flt0_{arg}": value})
    return url_for(f"{view.endpoint}.index_view")


class StaffIndexView(_Guard, AdminIndexView):
    @expose("/")
    def index(self):
        return self.render("admin/staff_index.html", shortcuts=self._shortcuts(),
                           role_label=enum_label(Role(current_user.role)))

    def _shortcuts(self) -> list[dict]:
        """Quick links the current user may follow, in the order finance and admins use them."""
        views = {v.endpoint: v for v in self.admin._views}
        specs = [
            ("invoices", INVOICES_REVIEW, _l("Faturas vencidas"), _l("Faturas em aberto após o vencimento."),
             ("Vencida", "1")),
            ("payments", INVOICES_REVIEW, _l("Pagamentos a aprovar"),
             _l("Pagamentos manuais aguardando um segundo usuário do financeiro."), ("Situação", "PENDING_APPROVAL")),
            ("invoices", INVOICES_REVIEW, _l("Todas as faturas"), _l("Busca, filtros e exportação CSV."), None),
            ("outbox", OUTBOX_VIEW, _l("E-mails com falha"), _l("Mensagens que não puderam ser entregues."),
             ("Situação", OutboxStatus.FAILED.name)),
            ("outbox", OUTBOX_VIEW, _l("E-mails enviados"), _l("Tudo o que a plataforma enviou ou tem na fila."),
             None),
            ("audit", AUDIT_VIEW, _l("Auditoria"), _l("Quem mudou o quê, quando e de onde."), None),
            ("users", USERS_MANAGE, _l("Usuários"), _l("Criar gestores e equipe; desativar acessos."), None),
            ("partners", CATALOGUE_MANAGE, _l("Revendas"), _l("Cadastro das revendas."), None),
            ("plans", CATALOGUE_MANAGE, _l("Planos"), _l("Preços mensais por software."), None),
        ]
        links = []
        for endpoint, permission, title, text, flt in specs:
            view = views.get(endpoint)
            if view is None or not has_permission(current_user, permission):
                continue
            url = filtered_url(view, *flt) if flt else url_for(f"{endpoint}.index_view")
            links.append({"title": str(title), "text": str(text), "url": url, "endpoint": endpoint})
        return links


# -- the foundation's views -------------------------------------------------------------------------


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
        from partner.models import Plan

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


def _role_choices():
    return [(role, ROLE_LABELS[role]) for role in Role]


def _partner_choices():
    from partner.models import Partner

    return db.session.scalars(select(Partner).order_by(Partner.legal_name)).all()


class UserView(StaffModelView):
    """Staff and managers. No password here: a new user gets the first-access e-mail and chooses one.
    Users are deactivated, never deleted."""

    permission = USERS_MANAGE
    column_list = ("email", "name", "role", "partner", "is_active", "last_login_at", "created_at")
    column_details_list = ("email", "name", "role", "partner", "client", "is_active", "created_at",
                           "last_login_at", "password_changed_at")
    column_export_list = ("id", "email", "name", "role", "partner_id", "client_id", "is_active", "created_at",
                          "last_login_at")
    column_searchable_list = ("email", "name")
    column_filters = ("role", "is_active")
    column_default_sort = ("email", False)
    form_columns = ("email", "name", "role", "partner", "is_active")
    form_overrides = {"role": SelectField}
    form_args = {
        "email": {"validators": [required(_l("Informe o e-mail.")), cleaned_by(clean.clean_email)],
                  "description": _l("O primeiro acesso é enviado para este e-mail.")},
        "name": {"validators": [validators.Length(max=200)]},
        "role": {"choices": _role_choices, "coerce": Role,
                 "description": _l("Administrador e Financeiro usam esta área; Gestor usa o painel da revenda.")},
        "partner": {"query_factory": _partner_choices, "allow_blank": True, "blank_text": "—",
                    "description": _l("Obrigatória para gestores; vazia para a equipe e contadores.")},
        "is_active": {"description": _l("Desmarque para bloquear o acesso (o usuário não é excluído).")},
    }
    column_labels = {"role": _l("Papel"), "last_login_at": _l("Último acesso"),
                     "password_changed_at": _l("Senha alterada em")}

    def _edited_user(self):
        from accounts.models import User

        user_id = request.args.get("id", type=int)
        if user_id is None or not request.endpoint.endswith("edit_view"):
            return None
        return db.session.get(User, user_id)

    def prepare_form(self, form):
        # The service checks uniqueness case-insensitively, with its own message.
        form.email.validators = [v for v in form.email.validators if not isinstance(v, Unique)]

    def check_form(self, form):
        from accounts import services

        services.check_user_account(form.email.data, form.role.data, form.partner.data,
                                    is_active=form.is_active.data, user=self._edited_user(), actor=current_user)

    def on_model_change(self, form, model, is_created):
        from accounts import services

        services.record_user_saved(model, created=is_created, actor=current_user)

    def after_model_change(self, form, model, is_created):
        from accounts import services

        if is_created and model.is_active:
            services.send_first_access(model)
            flash(str(_l("E-mail de primeiro acesso enviado para %(email)s.", email=model.email)), "info")

    @action("deactivate", _l("Desativar"), _l("Desativar os usuários selecionados? Eles não poderão mais entrar."))
    def action_deactivate(self, ids):
        from accounts import services
        from accounts.models import User

        done = 0
        for user in db.session.scalars(select(User).where(User.id.in_([int(i) for i in ids]))):
            try:
                done += services.deactivate_user(user, actor=current_user)
            except ValidationError as exc:
                for message in exc.fields.values():
                    flash(str(message), "error")
        if done:
            flash(str(_l("%(n)s usuário(s) desativado(s).", n=done)), "success")


def _json_short(view, context, model, name):
    value = getattr(model, name)
    if value is None:
        return ""
    text = _json_text(value)
    short = text if len(text) <= 80 else text[:77] + "…"
    return Markup(f'<code class="audit-json" title="{escape(text)}">{escape(short)}</code>')


def _json_full(view, context, model, name):
    value = getattr(model, name)
    if value is None:
        return ""
    text = json.dumps(value, ensure_ascii=False, indent=2, sort_keys=True, default=str)
    return Markup(f'<pre class="audit-json-full mb-0">{escape(text)}</pre>')


class AuditView(ReadOnlyView):
    permission = AUDIT_VIEW
    column_list = ("at", "actor_label", "action", "object_type", "object_id", "partner_id", "client_id",
                   "before", "after", "ip")
    column_details_list = ("at", "actor_label", "actor", "action", "object_type", "object_id", "partner_id",
                           "client_id", "before", "after", "ip")
    column_export_list = column_details_list
    column_default_sort = ("at", True)
    column_filters = ("action", "object_type", "partner_id", "client_id", "actor_label")
    column_searchable_list = ("action", "actor_label")
    column_formatters = {"before": _json_short, "after": _json_short}
    column_formatters_detail = {"before": _json_full, "after": _json_full}
    column_labels = {"actor_label": _l("Quem"), "actor": _l("Usuário"), "action": _l("Ação"),
                     "object_type": _l("Objeto"), "object_id": _l("Objeto (código)"), "before": _l("Antes"),
                     "after": _l("Depois")}


class OutboxView(ReadOnlyView):
    """What was sent, to whom, when and how it went; never the body: e-mails carry reset, first-access,
    acceptance and signup links, and staff must not be able to use someone else's (core/mail.py)."""

    permission = OUTBOX_VIEW
    column_list = ("created_at", "to", "subject", "kind", "status", "attempts", "sent_at")
    column_details_list = ("created_at", "to", "subject", "kind", "status", "attempts", "sent_at", "last_error")
    column_export_list = ("id", "created_at", "to", "subject", "kind", "status", "attempts", "sent_at",
                          "last_error", "partner_id")
    column_default_sort = ("created_at", True)
    column_filters = ("status", "kind", "to")
    column_searchable_list = ("to", "subject")
    column_labels = {"to": _l("Para"), "subject": _l("Assunto"), "attempts": _l("Tentativas"),
                     "last_error": _l("Último erro")}


def init_admin(app) -> Admin:
    from accounts.models import User
    from core.audit import AuditEvent
    from core.mail import OutboxEmail
    from partner.models import Partner, Payer, Plan, Software

    register_enum_labels(Payer, {Payer.PARTNER: _l("Revenda"), Payer.CLIENT: _l("Cliente")})
    admin = Admin(
        app, name="Revenda — Equipe", url="/admin", index_view=StaffIndexView(url="/admin"),
        theme=Bootstrap4Theme(swatch="default", fluid=True),
    )
    admin.add_view(SoftwareView(Software, db, name="Software", category="Catálogo", endpoint="software"))
    admin.add_view(PlanView(Plan, db, name="Planos", category="Catálogo", endpoint="plans"))
    admin.add_view(PartnerView(Partner, db, name="Revendas", endpoint="partners"))
    admin.add_view(UserView(User, db, name="Usuários", endpoint="users"))
    admin.add_view(AuditView(AuditEvent, db, name="Auditoria", endpoint="audit"))
    admin.add_view(OutboxView(OutboxEmail, db, name="E-mails enviados", endpoint="outbox"))
    from app import _import_optional

    for module_path in ("contracts.admin", "certificates.admin", "billing.admin"):
        module = _import_optional(module_path)
        if module is not None:
            module.register(admin)
    app.extensions["revenda_admin"] = admin
    return admin
