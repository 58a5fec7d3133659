"""Staff views: signup links and acceptances read-only (never a link's token or nonce);
terms versions published by admins (a published text is never edited: publish a new version)."""

from datetime import UTC

from flask_babel import lazy_gettext as _l
from wtforms import DateTimeField, validators

from contracts.models import (
    EVENT_LABELS,
    REASON_LABELS,
    STATUS_LABELS,
    Acceptance,
    AcceptanceChannel,
    ContractEvent,
    EventKind,
    SignupLink,
    TermsVersion,
)
from core.admin import ReadOnlyView, StaffModelView, register_enum_labels
from core.db import db, utcnow
from core.permissions import CATALOGUE_MANAGE

_LINK_COLUMNS = ("id", "partner", "plan", "payer", "trial_days", "client_email", "created_at", "expires_at",
                 "used_at", "used_by", "revoked_at")


class SignupLinkView(ReadOnlyView):
    column_list = (*_LINK_COLUMNS[:8], "used_by", "revoked_at")
    column_details_list = (*_LINK_COLUMNS, "created_by", "last_sent_at")
    column_export_list = _LINK_COLUMNS
    column_exclude_list = ("token_hash", "nonce")
    column_default_sort = ("created_at", True)
    column_filters = ("partner_id", "payer", "client_email")
    column_searchable_list = ("client_email",)
    column_labels = {"partner": "Revenda", "plan": "Plano", "payer": "Pagador", "trial_days": "Dias de teste",
                     "client_email": "E-mail do cliente", "created_at": "Criado em", "expires_at": "Expira em",
                     "used_at": "Usado em", "used_by": "Cliente", "revoked_at": "Revogado em",
                     "created_by": "Criado por", "last_sent_at": "Último envio"}


class AcceptanceView(ReadOnlyView):
    column_list = ("client", "terms_version", "accepted_at", "channel", "ip", "user")
    column_details_list = ("client", "terms_version", "text_sha256", "accepted_at", "channel", "ip", "user_agent",
                           "user")
    column_export_list = column_details_list
    column_default_sort = ("accepted_at", True)
    column_filters = ("channel", "client_id")
    column_labels = {"client": "Cliente", "terms_version": "Versão dos termos", "text_sha256": "SHA-256 do texto",
                     "accepted_at": "Aceito em", "channel": "Canal", "user_agent": "Navegador", "user": "Usuário"}


CHANNEL_LABELS = {
    AcceptanceChannel.SIGNUP: _l("Página de contratação"),
    AcceptanceChannel.EMAIL_LINK: _l("Link do e-mail"),
    AcceptanceChannel.CLIENT_AREA: _l("Área do cliente"),
}


def _reason(view, context, model, name):
    return str(REASON_LABELS.get(model.reason, model.reason or ""))


def _status_value(view, context, model, name):
    # from/to hold a status value for status events; other kinds keep their own text.
    value = getattr(model, name)
    if model.kind == EventKind.STATUS:
        return str(next((label for status, label in STATUS_LABELS.items() if status.value == value), value or ""))
    return value or ""


class ContractEventView(ReadOnlyView):
    column_list = ("at", "effective_at", "client", "kind", "from_value", "to_value", "reason", "actor_label")
    column_details_list = (*column_list, "note")
    column_export_list = column_details_list
    column_default_sort = ("at", True)
    column_filters = ("kind", "client_id", "partner_id", "reason")
    column_labels = {"at": "Quando", "effective_at": "Vale a partir de", "client": "Cliente", "kind": "Tipo",
                     "from_value": "De", "to_value": "Para", "reason": "Motivo", "actor_label": "Quem",
                     "note": "Observação"}
    column_formatters = {"reason": _reason, "from_value": _status_value, "to_value": _status_value}


class TermsVersionView(StaffModelView):
    """Admins publish new terms; a published text cannot be edited or deleted (acceptances name it)."""

    permission = CATALOGUE_MANAGE
    can_edit = False
    can_delete = False
    column_list = ("version", "published_at", "sha256")
    column_details_list = ("version", "published_at", "sha256", "text")
    column_default_sort = ("published_at", True)
    form_columns = ("version", "published_at", "text")
    form_overrides = {"published_at": DateTimeField}  # Flask-Admin has no converter for UTCDateTime
    form_args = {
        "version": {"validators": [validators.InputRequired(), validators.Length(max=20)]},
        "text": {"validators": [validators.InputRequired()]},
        # Lists show local time; this field is typed in UTC, so its label says so.
        "published_at": {"format": "%Y-%m-%d %H:%M:%S", "validators": [validators.InputRequired()],
                         "label": "Publicada em (UTC, AAAA-MM-DD HH:MM:SS)",
                         "default": lambda: utcnow().replace(tzinfo=None, microsecond=0)},
    }
    column_labels = {"version": "Versão", "published_at": "Publicada em", "sha256": "SHA-256", "text": "Texto"}

    def on_model_change(self, form, model, is_created):
        # Normalise line endings so the hash is the hash of what the client reads.
        model.text = model.text.replace("\r\n", "\n")
        model.sha256 = TermsVersion.hash_text(model.text)
        if model.published_at is not None and model.published_at.tzinfo is None:
            model.published_at = model.published_at.replace(tzinfo=UTC)


def register(admin) -> None:
    from partner.models import ContractStatus

    register_enum_labels(ContractStatus, STATUS_LABELS)
    register_enum_labels(EventKind, EVENT_LABELS)
    register_enum_labels(AcceptanceChannel, CHANNEL_LABELS)
    admin.add_view(SignupLinkView(SignupLink, db, name="Links de contratação", category="Contratos",
                                  endpoint="admin_signup_links"))
    admin.add_view(AcceptanceView(Acceptance, db, name="Aceites", category="Contratos", endpoint="admin_acceptances"))
    admin.add_view(ContractEventView(ContractEvent, db, name="Histórico de contratos", category="Contratos",
                                     endpoint="admin_contract_events"))
    admin.add_view(TermsVersionView(TermsVersion, db, name="Termos do contrato", category="Contratos",
                                    endpoint="admin_terms"))
