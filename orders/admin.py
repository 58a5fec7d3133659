"""The service catalogue in the staff admin: services with their kind, renewal terms and prices,
starter kits (GB), add-on unit prices, active or retired; every change audited. Orders are listed
read-only for the staff."""

from flask_babel import lazy_gettext as _l
from flask_login import current_user
from wtforms import validators

from core import audit
from core.admin import NotNegative, StaffModelView, add_shortcut, register_enum_labels, required
from core.db import db
from core.permissions import CATALOGUE_MANAGE
from orders.models import (
    KIND_LABELS,
    STATUS_LABELS,
    AddonPrice,
    Order,
    OrderStatus,
    Service,
    ServiceKind,
    ServiceTerm,
    StarterKit,
)

_INLINE_MONEY = {"validators": [required(_l("Informe o preço em centavos.")),
                                NotNegative(_l("O preço não pode ser negativo."))]}


def catalogue_snapshot(service: Service) -> dict:
    return {
        "name": service.name, "kind": str(service.kind), "is_active": service.is_active,
        "terms": {str(t.months): t.price_cents for t in service.terms},
        "starter_kits_gb": {str(k.gb): k.monthly_price_cents for k in service.kits},
        "addons": {a.code: a.unit_monthly_cents for a in service.addons},
    }


class ServiceView(StaffModelView):
    permission = CATALOGUE_MANAGE
    column_list = ("name", "kind", "is_active", "created_at")
    column_details_list = ("name", "kind", "description", "terms_text", "is_active", "terms", "kits", "addons",
                           "created_at")
    column_searchable_list = ("name",)
    column_filters = ("is_active", "kind")
    form_columns = ("name", "kind", "description", "terms_text", "is_active")
    column_labels = {"kind": _l("Tipo"), "terms_text": _l("Termos do serviço (aceitos pelo cliente)"),
                     "terms": _l("Prazos de renovação"), "kits": _l("Starter kits"), "addons": _l("Adicionais")}
    inline_models = (
        (ServiceTerm, {"form_columns": ("id", "months", "price_cents"),
                       "column_labels": {"months": _l("Meses"), "price_cents": _l("Preço do prazo (centavos)")},
                       "form_args": {"months": {"validators": [required(_l("Informe os meses.")),
                                                               validators.NumberRange(min=1, max=120)]},
                                     "price_cents": _INLINE_MONEY}}),
        (StarterKit, {"form_columns": ("id", "gb", "monthly_price_cents"),
                      "column_labels": {"gb": _l("GB"), "monthly_price_cents": _l("Preço mensal (centavos)")},
                      "form_args": {"gb": {"validators": [required(_l("Informe os GB.")),
                                                          validators.NumberRange(min=1, max=100000)]},
                                    "monthly_price_cents": _INLINE_MONEY}}),
        (AddonPrice, {"form_columns": ("id", "code", "label", "unit_monthly_cents"),
                      "column_labels": {"code": _l("Código (gb, user…)"), "label": _l("Nome"),
                                        "unit_monthly_cents": _l("Preço mensal por unidade (centavos)")},
                      "form_args": {"unit_monthly_cents": _INLINE_MONEY}}),
    )
    form_args = {
        "name": {"validators": [required(_l("Informe o nome do serviço.")), validators.Length(max=120)]},
    }

    def on_model_change(self, form, model, is_created):
        db.session.flush()
        audit.record("service.created" if is_created else "service.updated", model, actor=current_user,
                     after=catalogue_snapshot(model))


class OrderAdminView(StaffModelView):
    permission = CATALOGUE_MANAGE
    can_create = False
    can_edit = False
    column_list = ("id", "partner", "client", "service", "status", "amount_cents", "quota_gb", "renews_at",
                   "created_at")
    column_filters = ("status",)
    column_labels = {"partner": _l("Revenda"), "client": _l("Cliente"), "service": _l("Serviço"),
                     "quota_gb": _l("Espaço (GB)"), "renews_at": _l("Renova em")}


def register(admin) -> None:
    register_enum_labels(ServiceKind, KIND_LABELS)
    register_enum_labels(OrderStatus, STATUS_LABELS)
    admin.add_view(ServiceView(Service, db, name="Serviços", category="Catálogo", endpoint="services"))
    admin.add_view(OrderAdminView(Order, db, name="Pedidos", endpoint="service_orders"))
    add_shortcut(admin, "services", CATALOGUE_MANAGE, _l("Serviços"),
                 _l("Serviços que as revendas pedem: prazos, starter kits, adicionais."), order=95)
