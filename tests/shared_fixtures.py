"""The real-world fixtures of ../shared/fixtures (certificates, fiscal XML from other projects), beside the
repository in the team's checkouts and in CI, absent from a plain clone.

Tests reading them carry ``@pytest.mark.shared_fixtures``. Without the folder they are skipped, with one
line in the summary naming it (tests/conftest.py); with ``REQUIRE_SHARED_FIXTURES=1`` (.ci/run) its absence
fails the run instead. Each of those tests has a twin on the project's own generated files
(tests/certificates/pfxgen.py), so a plain clone still covers the same behaviour."""

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
#: ``REVENDA_SHARED_FIXTURES`` points elsewhere if the folder is not beside the repository.
SHARED_FIXTURES = Path(os.environ.get("REVENDA_SHARED_FIXTURES") or ROOT.parent / "shared" / "fixtures")
MARKER = "shared_fixtures"


def available() -> bool:
    return SHARED_FIXTURES.is_dir()


def required() -> bool:
    return os.environ.get("REQUIRE_SHARED_FIXTURES", "") not in {"", "0"}


def skip_reason() -> str:
    return f"{_shown(SHARED_FIXTURES)} not found (plain clone): real-world fixture tests skipped"


def _shown(path: Path) -> str:
    try:
        return "../" + str(path.relative_to(ROOT.parent))
    except ValueError:
        return str(path)
