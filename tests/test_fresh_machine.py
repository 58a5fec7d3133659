"""The machine as it comes. No libharfbuzz-subset0 (it arrives with Chromium, which a fresh machine
lacks): WeasyPrint then warns at import; the app and the suite tolerate exactly that warning, and the
invoice PDF still renders (fonts are subset with fontTools instead). And ``make run`` serves through
gunicorn, not Flask's development server."""

import os
import signal
import subprocess
import sys
import textwrap
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import free_port
from tests.shared_fixtures import _shown

ROOT = Path(__file__).resolve().parent.parent

#: Run first in each subprocess: the dynamic loader "cannot find" libharfbuzz-subset, as on a fresh machine.
WITHOUT_HARFBUZZ_SUBSET = textwrap.dedent(
    """
    import cffi
    _dlopen = cffi.FFI.dlopen
    def dlopen(self, name, *args, **kwargs):
        if "harfbuzz-subset" in str(name):
            raise OSError(f"cannot load library {name!r}: not installed")
        return _dlopen(self, name, *args, **kwargs)
    cffi.FFI.dlopen = dlopen
    """
)


def _python(code: str, *options: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, *options, "-c", WITHOUT_HARFBUZZ_SUBSET + textwrap.dedent(code)],
        cwd=ROOT, capture_output=True, text=True, timeout=180,
    )


def test_weasyprint_warns_without_harfbuzz_subset():
    """The reproduction itself: without the library, a bare import fails under ``-W error``."""
    out = _python("import weasyprint", "-W", "error::DeprecationWarning")

    assert out.returncode != 0
    assert "DeprecationWarning: HarfBuzz-Subset will be required by future versions of WeasyPrint" in out.stderr


def test_the_app_imports_weasyprint_quietly_and_still_renders_pdfs():
    out = _python(
        """
        import sys
        sys.path.insert(0, "tests/billing")
        import billing.pdf
        from weasyprint.text import ffi
        from pdftext import pdf_text
        assert ffi.harfbuzz_subset is None, "the library should look missing here"
        data = billing.pdf.HTML(string="<h1>Fatura 2024-000123</h1><p>Pagador: Padaria Pão Quente</p>").write_pdf()
        assert data.startswith(b"%PDF-"), data[:20]
        print(pdf_text(data))
        """,
        "-W", "error",
    )

    assert out.returncode == 0, out.stderr[-3000:]
    assert "Fatura 2024-000123" in out.stdout and "Padaria Pão Quente" in out.stdout


def test_the_suite_settings_tolerate_that_warning_and_nothing_more(tmp_path):
    """pyproject.toml turns warnings into errors; a test module importing WeasyPrint first is collected
    and passes, while any other DeprecationWarning still fails."""
    (tmp_path / "test_imports_weasyprint.py").write_text(
        "import warnings\n"
        "import weasyprint  # noqa: F401\n"
        "from weasyprint.text import ffi\n\n\n"
        "def test_library_missing():\n"
        "    assert ffi.harfbuzz_subset is None\n\n\n"
        "def test_other_deprecations_still_fail():\n"
        "    warnings.warn('something else', DeprecationWarning)\n"
    )
    out = _python(
        f"""
        import sys, pytest
        sys.exit(pytest.main(["-q", "-p", "no:cacheprovider", "-c", {str(ROOT / "pyproject.toml")!r},
                              "--rootdir", {str(tmp_path)!r}, {str(tmp_path)!r}]))
        """
    )

    assert "1 failed, 1 passed" in out.stdout, out.stdout[-3000:]
    assert "DeprecationWarning: something else" in out.stdout


# --- make run: gunicorn (threads) and the Celery worker, one command ---------------------------------


def _get(url: str) -> tuple[int, dict, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, dict(response.headers), response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read().decode()


@pytest.mark.slow
def test_make_run_serves_the_app_through_gunicorn(tmp_path):
    """The newcomer's command, as is (``-o`` only skips re-installing the requirements)."""
    port = free_port()
    env = {k: v for k, v in os.environ.items()
           if k not in {"DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL", "REVENDA_TEST_CLOCK_OFFSET_DAYS"}}
    env["REVENDA_INSTANCE"] = str(tmp_path)
    with open(tmp_path / "make-run.log", "w") as log:
        proc = subprocess.Popen(
            ["make", "--no-print-directory", "-o", ".venv/.stamp-run", "run", "HOST=127.0.0.1", f"PORT={port}"],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True,
        )
    try:
        deadline = time.monotonic() + 120
        while "Revenda is running" not in (tmp_path / "make-run.log").read_text():
            assert proc.poll() is None and time.monotonic() < deadline, (tmp_path / "make-run.log").read_text()[-3000:]
            time.sleep(0.5)
        status, headers, body = _get(f"http://127.0.0.1:{port}/healthz")
        assert (status, body) == (200, "ok")
        assert headers["Server"].startswith("gunicorn"), headers
        status, _, page = _get(f"http://127.0.0.1:{port}/login")
        assert status == 200 and 'name="password"' in page
    finally:
        os.killpg(proc.pid, signal.SIGINT)  # Ctrl-C: the recipe's trap stops the web app and the worker
        proc.wait(timeout=60)
    output = (tmp_path / "make-run.log").read_text()
    assert "Booting worker with pid" in output, output[-3000:]  # gunicorn's
    assert "Stopping the web app and the worker" in output
    assert "Running on http" not in output  # not Flask's development server


# --- a plain clone: no ../shared/fixtures ------------------------------------------------------------


def _pytest_without_shared(missing: Path, *extra_env: tuple[str, str]) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in {"REQUIRE_SHARED_FIXTURES", "CI"}}
    env.update({"REVENDA_SHARED_FIXTURES": str(missing), **dict(extra_env)})
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/certificates/test_pfx.py", "-k",
         "icp_brasil_like_certificate_of_another_company or generated_expected_cnpj_may_be_punctuated"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=180,
    )


def test_without_shared_fixtures_their_tests_skip_with_one_line(tmp_path):
    out = _pytest_without_shared(tmp_path / "shared" / "fixtures")

    assert out.returncode == 0, out.stdout[-3000:]
    assert "1 passed, 1 skipped" in out.stdout
    notes = [line for line in out.stdout.splitlines() if "not found (plain clone)" in line]
    # the folder is named as the note shows it: relative to the checkout's parent when beneath it (a clone
    # sitting right in /tmp sees pytest's tmp_path as ../pytest-of-…), absolute otherwise
    shown = _shown(tmp_path / "shared" / "fixtures")
    assert shown.endswith(f"{tmp_path.name}/shared/fixtures")
    assert notes == [f"NOTE: 1 tests skipped: {shown} not found (plain clone): real-world fixture tests skipped"]


def test_ci_refuses_to_skip_them(tmp_path):
    out = _pytest_without_shared(tmp_path / "shared" / "fixtures", ("REQUIRE_SHARED_FIXTURES", "1"))

    assert out.returncode != 0
    assert "REQUIRE_SHARED_FIXTURES is set but" in out.stderr + out.stdout
    assert "1 real-world fixture tests would be skipped" in out.stderr + out.stdout
    assert "REQUIRE_SHARED_FIXTURES=1" in (ROOT / ".ci" / "run").read_text()
