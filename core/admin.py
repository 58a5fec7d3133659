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
from dataclasses import dataclass
from datetime import date, datetime
from urllib.parse import urlparse

from flask import Response, abort, flash, redirect, request, session, url_for
from flask_admin import Admin, AdminIndexView, expose
from flask_admin._compat import csv_encode
from flask_admin.contrib.sqla import ModelView
from flask_admin.contrib.sqla import filters as sqla_filters
from flask_admin.helpers import is_form_submitted
from flask_admin.model import filters as base_filters
from flask_admin.theme import Bootstrap4Theme
from flask_admin.tools import rec_getattr
from flask_babel import lazy_gettext as _l
from flask_babel import to_user_timezone
from flask_login import current_user
from markupsafe import Markup, escape
from sqlalchemy import inspect
from sqlalchemy.exc import IntegrityError
from werkzeug.utils import secure_filename
from wtforms import validators
from wtforms.validators import ValidationError as FieldError

from core.csvsafe import safe_row
from core.db import db
from core.mail import OutboxStatus
from core.money import format_brl
from core.permissions import (
    AUDIT_VIEW,
    OUTBOX_VIEW,
    STAFF_ADMIN,
    Role,
    has_permission,
)
from core.security import MAX_ID
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


def _within_id_range(value) -> bool:
    if isinstance(value, bool) or not isinstance(value, int | list | tuple):
        return True
    values = value if isinstance(value, list | tuple) else [value]
    return all(not isinstance(v, int) or -MAX_ID <= v <= MAX_ID for v in values)


def filter_value_ok(view, flt, value: str) -> bool:
    """Whether ``flt`` can compare ``value``: its own check, one of its options when it offers some
    (each item of a list filter), a value its ``clean`` accepts and an integer the database can bind."""
    try:
        if not flt.validate(value):
            return False
        options = flt.get_options(view)
        if options:
            keys = {str(key) for key, _label in options}
            parts = value.split(",") if isinstance(flt, sqla_filters.FilterInList | sqla_filters.FilterNotInList) \
                else [value]
            if not all(part.strip() in keys for part in parts):
                return False
        return _within_id_range(flt.clean(value))
    except (ValueError, TypeError, KeyError, LookupError, OverflowError, ArithmeticError):
        return False


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
        writer.writerow(safe_row(csv_encode(title) for _name, title in self._export_columns))
        for row in data:
            writer.writerow(safe_row(csv_encode(self.get_export_value(row, name)) for name, _title in self._export_columns))
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

    #: The last page a list may ask for: page × page size stays far inside a 64-bit OFFSET.
    MAX_PAGE = 10**6

    def _get_list_extra_args(self):
        """Query-string values a person or a fuzzer typed: a page outside 0…MAX_PAGE is the first or
        the last one Flask-Admin would show, never a negative or overflowing OFFSET."""
        args = super()._get_list_extra_args()
        args.page = min(max(args.page or 0, 0), self.MAX_PAGE)
        return args

    def _get_list_filter_args(self):
        """Flask-Admin's filters from the query string, each value checked first: one a filter cannot
        compare (a status that is not one of its options, text in a number or date filter, an id
        the database cannot hold) is dropped with a message instead of failing the query."""
        if not self._filters:
            return None
        filters = []
        for arg in request.args:
            if not arg.startswith("flt") or "_" not in arg:
                continue
            pos, key = arg[3:].split("_", 1)
            if key not in self._filter_args:
                continue
            idx, flt = self._filter_args[key]
            value = request.args[arg]
            if filter_value_ok(self, flt, value):
                filters.append((pos, (idx, str(flt.name), value)))
            else:
                flash(self.get_invalid_value_msg(value, flt), "error")
        return [v[1] for v in sorted(filters, key=lambda n: n[0])]

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
    """The staff home: each domain adds its shortcuts (``add_shortcut``) when it registers its views."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.shortcuts: list[Shortcut] = []

    @expose("/")
    def index(self):
        return self.render("admin/staff_index.html", shortcuts=self._shortcuts(),
                           role_label=enum_label(Role(current_user.role)))

    def _shortcuts(self) -> list[dict]:
        """Quick links the current user may follow, in the order finance and admins use them."""
        views = {v.endpoint: v for v in self.admin._views}
        links = []
        for shortcut in sorted(self.shortcuts, key=lambda s: s.order):
            endpoint, flt = shortcut.endpoint, shortcut.filter
            view = views.get(endpoint)
            if view is None or not has_permission(current_user, shortcut.permission):
                continue
            url = filtered_url(view, *flt) if flt else url_for(f"{endpoint}.index_view")
            links.append({"title": str(shortcut.title), "text": str(shortcut.text), "url": url, "endpoint": endpoint})
        return links


@dataclass(frozen=True)
class Shortcut:
    endpoint: str
    permission: str
    title: str
    text: str
    filter: tuple[str, str] | None = None  # (filter name, value) applied to the view's list
    order: int = 100


def add_shortcut(admin: Admin, endpoint: str, permission: str, title, text, *,
                 filter: tuple[str, str] | None = None, order: int = 100) -> None:
    """A card on the staff home linking to ``endpoint``'s list (filtered), shown to whoever holds
    ``permission``; cards are sorted by ``order``."""
    admin.index_view.shortcuts.append(Shortcut(endpoint, permission, title, text, filter, order))


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


def _audit_action(view, context, model, name):
    from core.audit_words import action_label

    return action_label(model.action)


def _audit_changes(view, context, model, name):
    """Before/after in words (core/audit_words.py), ids as names resolved once for the whole page."""
    from core.audit_words import changes, resolve_names

    names = view._page_names if model in view._page_events else resolve_names([model])
    items = changes(getattr(model, name), action=model.action, names=names)
    return Markup("".join(
        f'<span class="d-block"><span class="text-muted">{escape(c.label)}:</span> {escape(c.text)}</span>'
        for c in items
    ))


def _named(view, context, model, name):
    related = getattr(model, name)
    if related is None:
        return ""
    return getattr(related, "legal_name", None) if name == "client" else str(related)


class AuditView(ReadOnlyView):
    """The audit log in words: what happened, to whom, before and after (names, not ids); the raw
    record stays in the details page and the export, for support."""

    permission = AUDIT_VIEW
    column_list = ("at", "actor_label", "action", "partner", "client", "before", "after", "ip")
    column_details_list = ("at", "actor_label", "actor", "action", "partner", "client", "before", "after",
                           "raw_action", "object_type", "object_id", "raw_before", "raw_after", "ip")
    column_export_list = ("at", "actor_label", "actor", "action", "object_type", "object_id", "partner_id",
                          "client_id", "before", "after", "ip")
    column_default_sort = ("at", True)
    column_filters = ("action", "object_type", "partner_id", "client_id", "actor_label")
    column_searchable_list = ("action", "actor_label")
    column_formatters = {"action": _audit_action, "before": _audit_changes, "after": _audit_changes,
                         "partner": _named, "client": _named}
    column_formatters_detail = {
        "action": _audit_action, "before": _audit_changes, "after": _audit_changes, "partner": _named,
        "client": _named, "raw_action": lambda v, c, m, n: m.action,
        "raw_before": lambda v, c, m, n: _json_full(v, c, m, "before"),
        "raw_after": lambda v, c, m, n: _json_full(v, c, m, "after"),
    }
    column_labels = {"actor_label": _l("Quem"), "actor": _l("Usuário"), "action": _l("Ação"),
                     "partner": _l("Revenda"), "client": _l("Cliente"), "object_type": _l("Objeto"),
                     "object_id": _l("Objeto (código)"), "before": _l("Antes"), "after": _l("Depois"),
                     "raw_action": _l("Código da ação"), "raw_before": _l("Antes (registro)"),
                     "raw_after": _l("Depois (registro)")}
    _page_events: tuple = ()
    _page_names: dict = {}

    def get_list(self, *args, **kwargs):
        from core.audit_words import resolve_names

        count, data = super().get_list(*args, **kwargs)
        if data is not None and not isinstance(data, int):
            data = list(data)
            self._page_events, self._page_names = tuple(data), resolve_names(data)
        return count, data


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
    """The staff admin, empty: the factory asks each domain's ``admin.register`` for its views."""
    admin = Admin(
        app, name="Revenda — Equipe", url="/admin", index_view=StaffIndexView(url="/admin"),
        theme=Bootstrap4Theme(swatch="default", fluid=True),
    )
    app.extensions["revenda_admin"] = admin
    return admin


def register(admin: Admin) -> None:
    """The foundation's own views: the audit log and the e-mail outbox."""
    from core.audit import AuditEvent
    from core.mail import OutboxEmail

    admin.add_view(AuditView(AuditEvent, db, name="Auditoria", endpoint="audit"))
    admin.add_view(OutboxView(OutboxEmail, db, name="E-mails enviados", endpoint="outbox"))
    add_shortcut(admin, "outbox", OUTBOX_VIEW, _l("E-mails com falha"), _l("Mensagens que não puderam ser entregues."),
                 filter=("Situação", OutboxStatus.FAILED.name), order=40)
    add_shortcut(admin, "outbox", OUTBOX_VIEW, _l("E-mails enviados"),
                 _l("Tudo o que a plataforma enviou ou tem na fila."), order=50)
    add_shortcut(admin, "audit", AUDIT_VIEW, _l("Auditoria"), _l("Quem mudou o quê, quando e de onde."), order=60)
