"""Staff admin (Flask-Admin): only staff reach it; every view checks its own permission."""

from flask import abort, redirect, request, url_for
from flask_admin import Admin, AdminIndexView, expose
from flask_admin.contrib.sqla import ModelView
from flask_admin.theme import Bootstrap4Theme
from flask_login import current_user

from core.db import db
from core.permissions import AUDIT_VIEW, CATALOGUE_MANAGE, OUTBOX_VIEW, STAFF_ADMIN, USERS_MANAGE, has_permission


class _Guard:
    permission = STAFF_ADMIN

    def is_accessible(self):
        return has_permission(current_user, self.permission)

    def inaccessible_callback(self, name, **kwargs):
        if not current_user.is_authenticated:
            return redirect(url_for("accounts.login", next=request.full_path))
        abort(403)


class StaffIndexView(_Guard, AdminIndexView):
    @expose("/")
    def index(self):
        return self.render("admin/staff_index.html")


class StaffModelView(_Guard, ModelView):
    """Base for staff views: role-checked, CSV export capped."""

    can_export = True
    export_max_rows = 5000
    export_types = ["csv"]
    page_size = 50
    can_view_details = True


class ReadOnlyView(StaffModelView):
    can_create = False
    can_edit = False
    can_delete = False


def init_admin(app) -> Admin:
    from accounts.models import User
    from core.audit import AuditEvent
    from core.mail import OutboxEmail
    from partner.models import Partner, Plan, Software

    admin = Admin(
        app, name="Revenda — Staff", url="/admin", index_view=StaffIndexView(url="/admin"),
        theme=Bootstrap4Theme(swatch="default"),
    )

    class CatalogueView(StaffModelView):
        permission = CATALOGUE_MANAGE

    class SoftwareView(CatalogueView):
        column_list = ("name", "url", "is_active", "created_at")
        form_columns = ("name", "url", "is_active")

    class PlanView(CatalogueView):
        column_list = ("software", "name", "price_cents", "is_active")
        form_columns = ("software", "name", "price_cents", "is_active")
        column_filters = ("is_active",)

    class PartnerView(CatalogueView):
        column_list = ("legal_name", "trade_name", "cnpj", "email", "is_active", "created_at")
        column_searchable_list = ("legal_name", "trade_name", "cnpj", "email")
        form_columns = ("legal_name", "trade_name", "cnpj", "email", "phone", "cep", "street", "number",
                        "complement", "district", "city", "state", "is_active")

    class UserView(StaffModelView):
        permission = USERS_MANAGE
        column_list = ("email", "name", "role", "partner", "is_active", "last_login_at")
        column_searchable_list = ("email", "name")
        column_filters = ("role", "is_active")
        form_columns = ("email", "name", "role", "partner", "is_active")
        can_delete = False

    class AuditView(ReadOnlyView):
        permission = AUDIT_VIEW
        column_list = ("at", "actor_label", "action", "object_type", "object_id", "partner_id", "client_id",
                       "before", "after", "ip")
        column_default_sort = ("at", True)
        column_filters = ("action", "object_type", "partner_id", "client_id")
        column_searchable_list = ("action", "actor_label")

    class OutboxView(ReadOnlyView):
        permission = OUTBOX_VIEW
        column_list = ("created_at", "to", "subject", "kind", "status", "attempts", "sent_at")
        column_details_list = ("created_at", "to", "subject", "kind", "status", "attempts", "last_error",
                               "body_text")
        column_default_sort = ("created_at", True)
        column_filters = ("status", "kind", "to")
        column_searchable_list = ("to", "subject")

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
