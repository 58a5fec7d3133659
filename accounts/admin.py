"""Staff and manager accounts in the staff admin: no password here (the first-access e-mail sets
it), deactivated, never deleted."""

from flask import flash, request
from flask_admin.actions import action
from flask_admin.contrib.sqla.validators import Unique
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select
from wtforms import SelectField, validators

from accounts import services
from accounts.models import User
from core import validators as clean
from core.admin import ROLE_LABELS, StaffModelView, add_shortcut, cleaned_by, required
from core.db import db
from core.permissions import USERS_MANAGE, Role
from core.validators import ValidationError


def _role_choices():
    return [(role, ROLE_LABELS[role]) for role in Role]


def _partner_choices():
    # The partner model through the relationship: accounts sits below partner and never imports it.
    partner_model = User.partner.property.mapper.class_
    return db.session.scalars(select(partner_model).order_by(partner_model.legal_name)).all()


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
        user_id = request.args.get("id", type=int)
        if user_id is None or not request.endpoint.endswith("edit_view"):
            return None
        return db.session.get(User, user_id)

    def prepare_form(self, form):
        # The service checks uniqueness case-insensitively, with its own message.
        form.email.validators = [v for v in form.email.validators if not isinstance(v, Unique)]

    def check_form(self, form):
        services.check_user_account(form.email.data, form.role.data, form.partner.data,
                                    is_active=form.is_active.data, user=self._edited_user(), actor=current_user)

    def on_model_change(self, form, model, is_created):
        services.record_user_saved(model, created=is_created, actor=current_user)

    def after_model_change(self, form, model, is_created):
        if is_created and model.is_active:
            services.send_first_access(model)
            flash(str(_l("E-mail de primeiro acesso enviado para %(email)s.", email=model.email)), "info")

    @action("deactivate", _l("Desativar"), _l("Desativar os usuários selecionados? Eles não poderão mais entrar."))
    def action_deactivate(self, ids):
        done = 0
        for user in db.session.scalars(select(User).where(User.id.in_([int(i) for i in ids]))):
            try:
                done += services.deactivate_user(user, actor=current_user)
            except ValidationError as exc:
                for message in exc.fields.values():
                    flash(str(message), "error")
        if done:
            flash(str(_l("%(n)s usuário(s) desativado(s).", n=done)), "success")


    @action("send_reset", _l("Enviar link de redefinição"),
            _l("Enviar aos usuários selecionados um link para definirem uma nova senha? A senha atual continua "
               "valendo até eles usarem o link."))
    def action_send_reset(self, ids):
        sent = 0
        for user in db.session.scalars(select(User).where(User.id.in_([int(i) for i in ids]))):
            sent += services.send_reset_link_by_staff(user, actor=current_user)
        if sent:
            flash(str(_l("Link de redefinição enviado para %(n)s usuário(s).", n=sent)), "success")


def register(admin) -> None:
    admin.add_view(UserView(User, db, name="Usuários", endpoint="users"))
    add_shortcut(admin, "users", USERS_MANAGE, _l("Usuários"), _l("Criar gestores e equipe; desativar acessos."),
                 order=70)
