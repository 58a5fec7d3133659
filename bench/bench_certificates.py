"""How long one A1 certificate validation takes (``inspect_pfx``), median of N runs.

Run from the project root: ``.venv/bin/python bench/bench_certificates.py [runs]``.
The cost is dominated by the PKCS#12 key derivations (the files' own iteration counts), so a
wrong password is timed too: it adds our own MAC check on top of cryptography's attempt.
"""

import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from certificates import samples as pfxgen  # noqa: E402  (the project's own generated certificates)
from certificates.pfx import CertificateError, inspect_pfx  # noqa: E402


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
            return inspect_pfx(data, password, expected_cnpj=None)
        except CertificateError as error:
            return error.code

    return call


def main(runs: int) -> None:
    java_style = pfxgen.legacy_ecnpj_pfx()
    generated = pfxgen.ecnpj_pfx()
    cases = {
        "Java-style e-CNPJ (SHA-1 MAC, 100000 iterations)": lambda: inspect_pfx(
            java_style, pfxgen.PASSWORD, expected_cnpj=pfxgen.VALID_CNPJ
        ),
        "generated e-CNPJ (cryptography defaults)": lambda: inspect_pfx(
            generated, pfxgen.PASSWORD, expected_cnpj=pfxgen.VALID_CNPJ
        ),
        "Java-style e-CNPJ, wrong password": refused(java_style, "wrong"),
        "generated e-CNPJ, wrong password": refused(generated, "wrong"),
    }
    print(f"inspect_pfx, median of {runs} runs")
    for label, call in cases.items():
        call()  # warm up (imports, caches)
        print(f"  {label:<50} {median_ms(call, runs):8.2f} ms")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 200)
