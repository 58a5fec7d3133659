"""Helpers shared by the contracts tests."""

import re

from tests.factories import make_cnpj

SIGNUP_PASSWORD = "senha-do-cliente-1"


def signup_form(n: int = 1, **overrides) -> dict:
    """A valid public signup form; ``n`` varies the CNPJ and e-mail."""
    form = {
        "legal_name": f"Empresa Nova {n} Ltda", "trade_name": f"Nova {n}", "cnpj": make_cnpj(90000 + n),
        "email": f"dono{n}@empresanova.example", "phone": "(11) 98765-4321", "cep": "01310-100",
        "street": "Av. Paulista", "number": "1000", "complement": "", "district": "Bela Vista",
        "city": "São Paulo", "state": "SP", "accountant_email": "",
        "password": SIGNUP_PASSWORD, "confirm_password": SIGNUP_PASSWORD, "accept_terms": "1",
    }
    form.update(overrides)
    return form


def path_of(url: str) -> str:
    return re.sub(r"^https?://[^/]+", "", url)


def link_in(message, path: str) -> str:
    body = message.get_body(("plain",)).get_content()
    match = re.search(rf"https?://[^/\s]+({re.escape(path)}[^\s]+)", body)
    assert match, f"no {path} link in:\n{body}"
    return match.group(1)
