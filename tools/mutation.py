"""Mutation testing of the core rules: ``make mutation`` (not part of CI: it takes minutes).

For each file in :data:`TARGETS`, mutmut (configured under ``[tool.mutmut]`` in pyproject.toml)
copies the project into ``mutants/``, mutates that one file and runs, for every mutant, only the
listed tests that reach the mutated function. The score per file is killed / (total - equivalent):
equivalent mutants (same behaviour as the original, no test can tell them apart) are listed with
a one-line reason in ``tools/mutation-equivalent.txt`` and left out. Surviving mutants are
printed as diffs so the next test to write is obvious.

    .venv/bin/python tools/mutation.py                      # every target
    .venv/bin/python tools/mutation.py billing/pricing.py   # one target

To measure another file, add it to TARGETS with the tests that exercise it.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# file to mutate -> the test files that pin it (kept narrow: each mutant runs only these tests), and any
# pytest options for them: the random-input fuzzers are deselected, too slow to rerun per mutant.
PFX_FUZZERS = [f"--deselect=tests/certificates/test_pfx.py::{name}" for name in (
    "test_any_bytes_give_a_verdict", "test_real_files_with_a_flipped_bit_give_a_verdict")]
TARGETS: dict[str, list[str]] = {
    "billing/pricing.py": ["tests/billing/test_pricing.py"],
    "contracts/services/status.py": [
        "tests/contracts/test_contracts_status.py",
        "tests/contracts/test_contracts_trials.py",
        "tests/contracts/test_contracts_status_rules.py",
        "tests/partner/test_history.py",
    ],
    "certificates/pfx.py": ["tests/certificates/test_pfx.py", "tests/certificates/test_pfx_lenient.py", *PFX_FUZZERS],
    "partner/access.py": [
        "tests/api/test_clients_api.py",
        "tests/api/test_partner_with_two_clients.py",
        "tests/partner/test_panel.py",
        "tests/test_access_matrix.py",
    ],
    # the pricing rules that moved out of billing (the discount beside the catalogue, money in core)
    "partner/pricing.py": ["tests/billing/test_pricing.py"],
    "core/money.py": ["tests/billing/test_pricing.py", "tests/test_structure.py"],
    # the fiscal domain's rules: derived status and the access-key check digit
    "fiscal/status.py": ["tests/fiscal/test_parsing.py", "tests/fiscal/test_fiscal_status_rules.py"],
    # the orders domain's rules: prices, proration to the renewal date, renewal dates
    "orders/pricing.py": ["tests/orders/test_properties.py", "tests/orders/test_services.py",
                          "tests/orders/test_order_pricing_rules.py"],
    # the accountants' tenancy: who is linked to which company, acceptance, removal
    "partner/accountants.py": ["tests/portal/test_accountant_links.py", "tests/portal/test_portal_access.py",
                               "tests/portal/test_accountant_link_rules.py"],
    # outgoing webhooks: the signature and the address checks (SSRF)
    "webhooks/transport.py": ["tests/webhooks/test_webhooks.py", "tests/webhooks/test_webhook_transport.py"],
    # the partner credit ledger: rows never edited, the balance their sum
    "billing/ledger.py": ["tests/billing/test_ledger_rules.py", "tests/orders/test_properties.py",
                          "tests/orders/test_billing_credit.py", "tests/orders/test_services.py"],
}
EQUIVALENT_FILE = ROOT / "tools" / "mutation-equivalent.txt"
RESULTS_DIR = ROOT / "mutants-results"
# Worker processes; the default suits a small shared machine.
JOBS = int(os.environ.get("MUTATION_JOBS", "2"))
# pytest options every mutant run gets (warnings as errors stay on, as in the suite).
PYTEST_ARGS = ["-q", "-x", "-m", "not browser", "-W", "ignore:HarfBuzz-Subset:DeprecationWarning"]


def module_of(path: str) -> str:
    return path.removesuffix(".py").replace("/", ".")


def load_equivalent() -> dict[str, str]:
    """``mutant name -> reason`` from the committed list (``name  reason`` per line, # comments)."""
    equivalent = {}
    if EQUIVALENT_FILE.exists():
        for line in EQUIVALENT_FILE.read_text("utf-8").splitlines():
            line = line.split("#", 1)[0].strip() if line.lstrip().startswith("#") else line.strip()
            if line:
                name, _, reason = line.partition(" ")
                equivalent[name] = reason.strip()
    return equivalent


def run_one(target: str) -> None:
    """Child process: run mutmut on ``target`` with its tests and dump the verdicts as JSON."""
    from mutmut import configuration

    cfg = configuration._load_config()
    cfg.only_mutate = [target]
    cfg.pytest_add_cli_args = PYTEST_ARGS
    cfg.pytest_add_cli_args_test_selection = TARGETS[target]
    configuration._config = cfg

    from mutmut.__main__ import SourceFileMutationData, get_diff_for_mutant, status_by_exit_code
    from mutmut.__main__ import _run as mutmut_run

    try:
        mutmut_run((), JOBS)
    except SystemExit as exc:
        if exc.code:
            raise
    data = SourceFileMutationData(path=Path(target))
    data.load()
    verdicts = {name: status_by_exit_code[code] for name, code in data.exit_code_by_key.items()}
    diffs = {name: get_diff_for_mutant(name, path=Path(target))
             for name, status in verdicts.items() if status != "killed"}
    RESULTS_DIR.mkdir(exist_ok=True)
    out = RESULTS_DIR / (module_of(target) + ".json")
    out.write_text(json.dumps({"target": target, "verdicts": verdicts, "diffs": diffs}, indent=1), "utf-8")


# Verdicts that count as caught: a failing test, or a mutant that hangs the tests (an endless loop).
DETECTED = {"killed", "timeout"}


def score(target: str, equivalent: dict[str, str]) -> tuple[int, int, int, list[str]]:
    """Print the survivors' diffs; return killed, total counted, equivalent and stale entries."""
    data = json.loads((RESULTS_DIR / (module_of(target) + ".json")).read_text("utf-8"))
    verdicts = data["verdicts"]
    mine = {name for name in equivalent if name.startswith(module_of(target) + ".")}
    # An equivalent entry that is now killed or no longer exists is out of date: say so.
    stale = sorted(name for name in mine if verdicts.get(name, "killed") in DETECTED)
    counted = {name: status for name, status in verdicts.items() if name not in mine}
    killed = sum(1 for status in counted.values() if status in DETECTED)
    for name in sorted(n for n, status in counted.items() if status not in DETECTED):
        print(f"\n--- {name}: {verdicts[name]}")
        print(data["diffs"].get(name, "").rstrip())
    return killed, len(counted), len(mine) - len(stale), stale


def main(argv: list[str]) -> int:
    if argv[:1] == ["--one"]:
        run_one(argv[1])
        return 0
    targets = argv or list(TARGETS)
    unknown = [t for t in targets if t not in TARGETS]
    if unknown:
        print(f"Not in TARGETS (tools/mutation.py): {', '.join(unknown)}", file=sys.stderr)
        return 2
    equivalent = load_equivalent()
    env = dict(os.environ)
    # The tests find ../shared beside the checkout; from mutants/ that is one level further up.
    if (ROOT.parent / "shared").is_dir():
        env.setdefault("REVENDA_SHARED_FIXTURES", str(ROOT.parent / "shared" / "fixtures"))
    rows = []
    for target in targets:
        print(f"==> mutmut on {target} (pytest {' '.join(TARGETS[target])})", flush=True)
        shutil.rmtree(ROOT / "mutants", ignore_errors=True)  # a clean measurement each time
        result = subprocess.run([sys.executable, __file__, "--one", target], cwd=ROOT, env=env)
        if result.returncode:
            print(f"mutmut failed on {target} (exit {result.returncode})", file=sys.stderr)
            return result.returncode
        killed, total, n_equivalent, stale = score(target, equivalent)
        rows.append((target, killed, total, n_equivalent, stale))
    print("\nMutation score (equivalent mutants left out; see tools/mutation-equivalent.txt)")
    print(f"{'file':<32} {'killed':>6} / {'total':<5} {'score':>7}  equivalent")
    for target, killed, total, n_equivalent, stale in rows:
        percent = 100.0 * killed / total if total else 100.0
        print(f"{target:<32} {killed:>6} / {total:<5} {percent:>6.1f}%  {n_equivalent}")
        for name in stale:
            print(f"    stale entry in mutation-equivalent.txt (killed or gone): {name}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
