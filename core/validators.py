"""Input cleaning shared by the panel forms and the API: one rule, one message."""

import re

from email_validator import EmailNotValidError, validate_email
from flask_babel import lazy_gettext as _l
from stdnum.br import cnpj as stdnum_cnpj
from stdnum.br import cpf as stdnum_cpf

UF = {
    "AC", "AL", "AP", "AM", "BA", "CE", "DF", "ES", "GO", "MA", "MT", "MS", "MG", "PA", "PB",
    "PR", "PE", "PI", "RJ", "RN", "RS", "SC", "SP", "SE", "TO", "RO", "RR",
}


class ValidationError(Exception):
    """Invalid input: ``fields`` maps a field name to its message."""

    def __init__(self, fields: dict[str, str], message=None):
        super().__init__(message or _l("Verifique os campos destacados."))
        self.fields = fields
        self.message = str(message or _l("Verifique os campos destacados."))


def clean_cnpj(value: str) -> str:
    """Return the 14-character CNPJ (digits or the 2026 alphanumeric format) or raise ValueError."""
    compact = re.sub(r"[\s./-]", "", (value or "")).upper()
    if not compact:
        raise ValueError(str(_l("Informe o CNPJ.")))
    if len(compact) != 14 or not stdnum_cnpj.is_valid(compact):
        raise ValueError(str(_l("CNPJ inválido: confira os dígitos verificadores.")))
    return compact


def clean_cpf(value: str, *, required: bool = False) -> str:
    """Return the 11-digit CPF ("" when optional and empty) or raise ValueError."""
    compact = re.sub(r"[\s.-]", "", value or "")
    if not compact:
        if required:
            raise ValueError(str(_l("Informe o CPF.")))
        return ""
    # stdnum accepts 111.111.111-11 and the like, which the Receita never issues
    if len(compact) != 11 or not compact.isdigit() or len(set(compact)) == 1 or not stdnum_cpf.is_valid(compact):
        raise ValueError(str(_l("CPF inválido: confira os dígitos verificadores.")))
    return compact


def format_cnpj(value: str) -> str:
    if not value or len(value) != 14:
        return value or ""
    return f"{value[:2]}.{value[2:5]}.{value[5:8]}/{value[8:12]}-{value[12:]}"


def clean_email(value: str, *, required: bool = True) -> str | None:
    value = (value or "").strip()
    if not value:
        if required:
            raise ValueError(str(_l("Informe o e-mail.")))
        return None
    if len(value) > 254:
        raise ValueError(str(_l("E-mail longo demais (máximo 254 caracteres).")))
    try:
        return validate_email(value, check_deliverability=False).normalized.lower()
    except EmailNotValidError:
        raise ValueError(str(_l("E-mail inválido."))) from None


def clean_cep(value: str, *, required: bool = True) -> str:
    digits = re.sub(r"\D", "", value or "")
    if not digits and not required:
        return ""
    if len(digits) != 8:
        raise ValueError(str(_l("CEP inválido: use 8 dígitos, por exemplo 01310-100.")))
    return digits


def format_cep(value: str) -> str:
    return f"{value[:5]}-{value[5:]}" if value and len(value) == 8 else (value or "")


def clean_phone(value: str, *, required: bool = False) -> str:
    digits = re.sub(r"\D", "", value or "")
    if not digits:
        if required:
            raise ValueError(str(_l("Informe o telefone.")))
        return ""
    if digits.startswith("55") and len(digits) in (12, 13):
        digits = digits[2:]
    if len(digits) not in (10, 11):
        raise ValueError(str(_l("Telefone inválido: informe DDD e número, por exemplo (11) 98765-4321.")))
    return digits


def format_phone(value: str) -> str:
    if not value:
        return ""
    if len(value) == 11:
        return f"({value[:2]}) {value[2:7]}-{value[7:]}"
    if len(value) == 10:
        return f"({value[:2]}) {value[2:6]}-{value[6:]}"
    return value


def clean_text(value, *, label, max_len: int, required: bool = True) -> str:
    text = (value or "").strip() if isinstance(value, str) else ("" if value is None else str(value)).strip()
    if not text and required:
        raise ValueError(str(_l("Campo obrigatório: %(label)s.", label=label)))
    if len(text) > max_len:
        raise ValueError(str(_l("%(label)s: máximo de %(n)s caracteres.", label=label, n=max_len)))
    return text


def clean_uf(value: str, *, required: bool = True) -> str:
    uf = (value or "").strip().upper()
    if not uf and not required:
        return ""
    if uf not in UF:
        raise ValueError(str(_l("UF inválida: use a sigla do estado, por exemplo SP.")))
    return uf


def collect(rules: dict, data: dict) -> dict:
    """Apply ``rules`` ({field: callable(value)}) to ``data``; raise ValidationError with every message."""
    clean, errors = {}, {}
    for field, rule in rules.items():
        try:
            clean[field] = rule(data.get(field))
        except ValueError as exc:
            errors[field] = str(exc)
    if errors:
        raise ValidationError(errors)
    return clean
