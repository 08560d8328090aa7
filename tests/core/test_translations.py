"""Every translatable string of the code is translated in every catalogue, and none is fuzzy."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "vaxnet"
LANGUAGES = ["hi", "ta", "sw"]


def _untranslated(po_file: Path) -> list[str]:
    """Return the msgids that are untranslated or fuzzy in a catalogue (not the header)."""
    result = subprocess.run(
        ["msgattrib", "--untranslated", "--no-wrap", str(po_file)],
        capture_output=True,
        text=True,
        check=True,
    )
    fuzzy = subprocess.run(
        ["msgattrib", "--only-fuzzy", "--no-wrap", str(po_file)],
        capture_output=True,
        text=True,
        check=True,
    )
    lines = (result.stdout + fuzzy.stdout).splitlines()
    return [line for line in lines if line.startswith("msgid ") and line != 'msgid ""']


@pytest.mark.parametrize("language", LANGUAGES)
def test_it_has_a_complete_catalogue(language: str) -> None:
    assert _untranslated(PACKAGE / "locale" / language / "LC_MESSAGES" / "django.po") == []


def test_it_has_no_string_missing_from_the_catalogues(tmp_path: Path) -> None:
    copy = tmp_path / "vaxnet"
    shutil.copytree(
        PACKAGE, copy, ignore=shutil.ignore_patterns("packs", "static", "__pycache__", "*.mo")
    )
    env = {**os.environ, "VAXNET_COUNTRY": "TEST", "PYTHONPATH": str(ROOT)}
    subprocess.run(
        [
            sys.executable,
            "-P",
            "-m",
            "vaxnet.cli",
            "makemessages",
            "--no-location",
            *[f"-l{lang}" for lang in LANGUAGES],
        ],
        cwd=copy,
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )

    for language in LANGUAGES:
        missing = _untranslated(copy / "locale" / language / "LC_MESSAGES" / "django.po")
        assert missing == [], f"{language}: run `make messages` and translate {missing}"
