"""Production refuses to start on built-in secrets: SECRET_KEY, MASTER_KEYS and PUBLIC_URL must be set."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from core.config import DEV_SECRET_KEY, ConfigError, check_production
from core.crypto import generate_master_key

ROOT = Path(__file__).resolve().parent.parent.parent
GOOD = {"SECRET_KEY": "s" * 64, "MASTER_KEYS": "k1:" + generate_master_key(), "PUBLIC_URL": "https://painel.example.com"}


def _start_wsgi(tmp_path, **env_vars):
    env = {k: v for k, v in os.environ.items()
           if k not in {"DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL", *GOOD}}
    env.update(REVENDA_INSTANCE=str(tmp_path), REVENDA_PRODUCTION="1", **env_vars)
    return subprocess.run([sys.executable, "-c", "import wsgi; print('started', wsgi.app.config['PUBLIC_URL'])"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)


def test_production_without_secrets_refuses_to_start_and_names_them(tmp_path):
    out = _start_wsgi(tmp_path)
    assert out.returncode != 0
    assert "started" not in out.stdout
    assert "ConfigError" in out.stderr and "set SECRET_KEY, MASTER_KEYS, PUBLIC_URL" in out.stderr


def test_production_names_only_what_is_missing(tmp_path):
    out = _start_wsgi(tmp_path, SECRET_KEY=GOOD["SECRET_KEY"], PUBLIC_URL=GOOD["PUBLIC_URL"])
    assert out.returncode != 0
    assert "set MASTER_KEYS." in out.stderr


def test_production_with_everything_set_starts(tmp_path):
    out = _start_wsgi(tmp_path, **GOOD)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip().splitlines()[-1] == "started https://painel.example.com"


@pytest.mark.parametrize("override, named", [
    ({"SECRET_KEY": DEV_SECRET_KEY}, "SECRET_KEY"),  # the built-in key, passed explicitly, is still refused
    ({"SECRET_KEY": "  "}, "SECRET_KEY"),
    ({"PUBLIC_URL": ""}, "PUBLIC_URL"),
    ({"PUBLIC_URL": "painel.example.com"}, "PUBLIC_URL must be an absolute"),
    ({"MASTER_KEYS": ""}, "MASTER_KEYS"),
])
def test_each_missing_or_unsafe_value_is_refused(override, named):
    with pytest.raises(ConfigError, match=named):
        check_production({"PRODUCTION": True, **GOOD, **override})


def test_the_embedded_default_keeps_its_development_defaults():
    check_production({"PRODUCTION": False, "SECRET_KEY": DEV_SECRET_KEY, "MASTER_KEYS": "", "PUBLIC_URL": ""})
