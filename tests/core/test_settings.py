"""Settings as deployed: production checks pass, development needs no secrets, mistakes fail."""

import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _run(args: list[str], **env: str) -> subprocess.CompletedProcess[str]:
    var_dir = tempfile.mkdtemp(prefix="vaxnet-settings-")
    base = {
        k: v for k, v in os.environ.items() if not k.startswith(("VAXNET_", "DATABASE_", "SECURE_"))
    }
    base.pop("SECRET_KEY", None)
    base.pop("ALLOWED_HOSTS", None)
    return subprocess.run(
        [sys.executable, "-m", "vaxnet.cli", *args],
        cwd=ROOT,
        env={**base, "VAXNET_VAR_DIR": var_dir, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_it_passes_the_deploy_check_with_production_settings() -> None:
    result = _run(
        ["check", "--deploy", "--fail-level", "WARNING"],
        SECRET_KEY="a-long-random-production-secret-" + "x" * 40,
        ALLOWED_HOSTS="vaccinate.example.org",
        VAXNET_ID_HASH_KEY="another-long-random-production-secret",
        VAXNET_PUBLIC_URL="https://vaccinate.example.org",
    )

    assert result.returncode == 0, result.stderr
    assert "no issues" in result.stdout


def test_it_refuses_to_start_in_production_without_a_secret() -> None:
    result = _run(["check"], ALLOWED_HOSTS="vaccinate.example.org")

    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr


def test_it_refuses_to_start_in_production_without_an_id_hash_key() -> None:
    result = _run(
        ["check"],
        SECRET_KEY="x" * 50,
        ALLOWED_HOSTS="vaccinate.example.org",
        VAXNET_PUBLIC_URL="https://vaccinate.example.org",
    )

    assert result.returncode != 0
    assert "VAXNET_ID_HASH_KEY must be set" in result.stderr


def test_it_refuses_to_start_in_production_without_a_public_url() -> None:
    result = _run(["check"], SECRET_KEY="x" * 50, ALLOWED_HOSTS="vaccinate.example.org")

    assert result.returncode != 0
    assert "VAXNET_PUBLIC_URL must be set" in result.stderr


def test_it_refuses_to_start_in_production_without_hosts() -> None:
    result = _run(["check"], SECRET_KEY="x" * 50)

    assert result.returncode != 0
    assert "ALLOWED_HOSTS" in result.stderr


def test_it_refuses_an_unknown_country() -> None:
    result = _run(["check"], VAXNET_DEV="1", VAXNET_COUNTRY="XX")

    assert result.returncode != 0
    assert "VAXNET_COUNTRY=XX" in result.stderr


def test_it_runs_in_development_without_any_secret() -> None:
    result = _run(["check"], VAXNET_DEV="1")

    assert result.returncode == 0, result.stderr


def test_it_uses_sqlite_in_wal_mode_with_every_commit_synced_by_default(tmp_path: Path) -> None:
    code = (
        "import django; django.setup();"
        "from django.db import connection;"
        "c = connection.cursor(); c.execute('PRAGMA journal_mode'); print(c.fetchone()[0]);"
        "c.execute('PRAGMA synchronous'); print(c.fetchone()[0])"
    )
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("VAXNET_", "DATABASE_", "SECURE_"))
    }
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={
            **env,
            "VAXNET_DEV": "1",
            "VAXNET_VAR_DIR": str(tmp_path),
            "DJANGO_SETTINGS_MODULE": "vaxnet.settings",
        },
        capture_output=True,
        text=True,
        timeout=60,
    )

    # synchronous 2 is FULL: an acknowledged commit survives a power cut, not only a crash.
    assert result.stdout.split() == ["wal", "2"], result.stderr
