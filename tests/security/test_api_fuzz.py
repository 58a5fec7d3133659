"""Schemathesis against the published OpenAPI document (/api/v1/openapi.json): every operation of
the partner API (partner token) and of the integration API (integration key), a bounded and
deterministic number of generated requests each. No answer may be a 5xx.

Each generated case is sent twice: as generated (random ids: mostly 404), and with its path ids
replaced by real rows of the partner, so generated bodies and query strings reach the services.

Schemathesis' own pytest integration (``from_fixture``) does not run under pytest 9 yet, so the
operations are driven here with Hypothesis directly (``APIOperation.as_strategy``)."""

import time

import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error

#: Examples per operation: deterministic (derandomize) and a few seconds each on SQLite.
MAX_EXAMPLES = 20
FUZZ_SETTINGS = settings(max_examples=MAX_EXAMPLES, derandomize=True, deadline=None, database=None,
                         suppress_health_check=list(HealthCheck), print_blob=False)


def _operations(app):
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    return [result.ok() for result in schema.get_all_operations()]


def _fuzz(operation, headers: dict, real_ids: dict) -> None:
    @FUZZ_SETTINGS
    @given(case=operation.as_strategy())
    def run(case):
        case.call_and_validate(headers=headers, checks=[not_a_server_error])
        if case.path_parameters:
            case.path_parameters = {k: real_ids.get(k, v) for k, v in case.path_parameters.items()}
            case.call_and_validate(headers=headers, checks=[not_a_server_error])

    run()


def _fuzz_all(app, world, *, integration: bool) -> tuple[list[str], list[str]]:
    token = world["integration_key"] if integration else world["api_token"]
    headers = {"Authorization": f"Bearer {token}"}
    ids = world["ids"]
    real_ids = {"client_id": ids["client_id"], "invoice_id": ids["invoice_id"], "link_id": ids["link_id"]}
    tested, failures = [], []
    for operation in _operations(app):
        if operation.path.startswith("/api/v1/integration") != integration:
            continue
        tested.append(operation.label)
        try:
            _fuzz(operation, headers, real_ids)
        except Exception as exc:  # noqa: BLE001 - every operation's failure is reported, not just the first
            failures.append(f"{operation.label}: {exc}"[:3000])
    return tested, failures


def test_no_partner_api_operation_answers_5xx(app, world):
    started = time.monotonic()
    tested, failures = _fuzz_all(app, world, integration=False)
    print(f"partner API: {len(tested)} operations × {MAX_EXAMPLES} examples in {time.monotonic() - started:.1f}s")
    assert len(tested) >= 15, tested
    assert not failures, "\n\n".join(failures)


def test_no_integration_api_operation_answers_5xx(app, world):
    tested, failures = _fuzz_all(app, world, integration=True)
    assert tested, "the integration API is in the document"
    assert not failures, "\n\n".join(failures)
