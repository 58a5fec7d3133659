"""fiscal/status.py, exactly: the derived status for models it does not know, and contingency emission per
model (the tables FISCAL.md gives). Pinned for `make mutation`."""

import pytest

from fiscal.status import DocumentStatus, derive_status, is_contingency_emission


@pytest.mark.parametrize("model", [0, 59, 99])
def test_a_model_outside_the_tables_is_never_denied_nor_contingency_and_never_crashes(model):
    assert derive_status(model, 1, 110) == DocumentStatus.NOT_A_DOCUMENT
    assert derive_status(model, 1, 100) == DocumentStatus.AUTHORIZED
    assert derive_status(model, 9, None) == DocumentStatus.NOT_A_DOCUMENT
    assert is_contingency_emission(model, 9) is False


@pytest.mark.parametrize(("model", "tp_emis", "expected"), [
    (55, 1, False), (55, 2, True), (55, 3, False), (55, 9, True), (65, 9, True), (65, 8, False),
    (57, 4, True), (57, 8, True), (57, 2, False), (67, 7, True), (67, 9, False),
])
def test_contingency_emission_follows_each_models_table(model, tp_emis, expected):
    assert is_contingency_emission(model, tp_emis) is expected


@pytest.mark.parametrize(("model", "cstat", "expected"), [
    (55, 110, DocumentStatus.DENIED), (55, 302, DocumentStatus.DENIED), (57, 302, DocumentStatus.NOT_A_DOCUMENT),
    (57, 301, DocumentStatus.DENIED), (65, 150, DocumentStatus.AUTHORIZED), (55, 151, DocumentStatus.CANCELLED),
])
def test_denial_codes_are_per_model(model, cstat, expected):
    assert derive_status(model, 1, cstat) == expected
