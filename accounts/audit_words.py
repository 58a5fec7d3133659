"""The accounts domain's words for the audit log (core/audit_words.py): users and their passwords."""

from flask_babel import lazy_gettext as _l

from core.audit_words import register_actions, register_fields, register_values
from core.permissions import Role

register_actions({
    "user.login": _l("Entrou no sistema"),
    "user.created": _l("Usuário criado"),
    "user.updated": _l("Usuário alterado"),
    "user.deactivated": _l("Usuário desativado"),
    "user.password_changed": _l("Senha alterada"),
    "user.password_reset": _l("Senha redefinida pelo link de e-mail"),
    "user.first_access": _l("Senha definida no primeiro acesso"),
    "user.email_change_requested": _l("Troca do e-mail de acesso pedida (aguarda a confirmação do novo endereço)"),
    "user.email_changed": _l("E-mail de acesso alterado"),
    "user.reset_link_sent": _l("Link de redefinição de senha enviado pela equipe"),
})
register_fields({
    "email": _l("E-mail"),
    "name": _l("Nome"),
    "role": _l("Papel"),
    "is_active": _l("Ativo"),
})
register_values("role", {
    Role.ADMIN: _l("Administrador"), Role.FINANCE: _l("Financeiro"), Role.MANAGER: _l("Gestor"),
    Role.ACCOUNTANT: _l("Contador"), Role.CLIENT: _l("Cliente"),
})
