"""Text folded for searching and sorting people's names the way people read them.

``fold("Pão Árvore  AÇÚCAR")`` is ``"pao arvore acucar"``: accents stripped (Unicode NFKD without
the combining marks), case folded, runs of spaces collapsed. Stored beside the original in a
column, it gives the same accent- and case-insensitive search and the same pt-BR-like order on
SQLite and PostgreSQL, where ``lower()`` and the collations differ ("Á" stays "Á" in SQLite)."""

import unicodedata


def fold(text: str | None) -> str:
    decomposed = unicodedata.normalize("NFKD", text or "")
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(stripped.casefold().split())


def like_pattern(text: str) -> str:
    """``%text%`` for ``LIKE … ESCAPE '\\'``: a typed ``%`` or ``_`` is a character to find."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"
