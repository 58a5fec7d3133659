"""How long one A1 certificate validation takes (``inspect_pfx``), median of N runs.

Run from the project root: ``.venv/bin/python bench/bench_certificates.py [runs]``.
The cost is dominated by the PKCS#12 key derivations (the files' own iteration counts), so a
wrong password is timed too: it adds our own MAC check on top of cryptography's attempt.
"""

import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests" / "certificates")]

import pfxgen  # noqa: E402  (test helpers, found through the path set above)

from certificates.pfx import CertificateError, inspect_pfx  # noqa: E402

FIXTURE = ROOT.parent / "shared" / "fixtures" / "certificates" / "java-nfe__NAO_UTILIZE.pfx"
NOW = datetime(2025, 6, 1, tzinfo=UTC)


def median_ms(call: Callable[[], object], runs: int) -> float:
    """Median wall time of ``call`` in milliseconds."""
    timings = []
    for _ in range(runs):
        start = time.perf_counter()
        call()
        timings.append((time.perf_counter() - start) * 1000)
    return statistics.median(timings)


def refused(data: bytes, password: str) -> Callable[[], object]:
    def call() -> object:
        try:
            return inspect_pfx(data, password, expected_cnpj=None, now=NOW)
        except CertificateError as error:
            return error.code

    return call


def main(runs: int) -> None:
    fixture = FIXTURE.read_bytes()
    generated = pfxgen.ecnpj_pfx(not_before=datetime(2025, 1, 1, tzinfo=UTC))
    cases = {
        "java-nfe fixture (SHA-1 MAC, 100000 iterations)": lambda: inspect_pfx(
            fixture, "123456", expected_cnpj="99999999999999", now=NOW
        ),
        "generated e-CNPJ (cryptography defaults)": lambda: inspect_pfx(
            generated, pfxgen.PASSWORD, expected_cnpj=pfxgen.VALID_CNPJ, now=NOW
        ),
        "java-nfe fixture, wrong password": refused(fixture, "wrong"),
        "generated e-CNPJ, wrong password": refused(generated, "wrong"),
    }
    print(f"inspect_pfx, median of {runs} runs")
    for label, call in cases.items():
        call()  # warm up (imports, caches)
        print(f"  {label:<50} {median_ms(call, runs):8.2f} ms")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 200)
