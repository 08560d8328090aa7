"""Signing keys in files: made once, private to the service, rotated, listed, exported."""

import json
import stat
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.test import override_settings

from vaxnet.certificates.formats.base import FORMATS
from vaxnet.certificates.keys import KeysMissing, KeyStore, keystore

pytestmark = pytest.mark.django_db


def _run(*args: str) -> str:
    out = StringIO()
    call_command("keys", *args, stdout=out)
    return out.getvalue()


def test_generate_makes_one_private_key_a_format_readable_only_by_the_service(
    tmp_path: Path,
) -> None:
    with override_settings(CERTIFICATE_KEYS_DIR=tmp_path / "keys"):
        _run("generate")
        store = keystore()
        again = _run("generate")

        assert {info.purpose for info in store.infos()} == set(FORMATS)
        assert all(info.status == "active" for info in store.infos())
        private = sorted((tmp_path / "keys").rglob("*.key.pem"))
        # One a format and the EU DCC country signing CA.
        assert len(private) == len(FORMATS) + 1
        for path in [*private, tmp_path / "keys" / "rid.secret"]:
            assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
        for folder in (tmp_path / "keys").iterdir():
            if folder.is_dir():
                assert stat.S_IMODE(folder.stat().st_mode) == 0o700, folder
        # A second run makes nothing: keys are never replaced behind the verifiers' backs.
        assert len(store.infos()) == len(FORMATS)
        assert "made key" not in again


def test_rotate_keeps_the_old_key_published(tmp_path: Path) -> None:
    with override_settings(CERTIFICATE_KEYS_DIR=tmp_path / "keys"):
        _run("generate")
        old = keystore().signing_key("shc").kid

        _run("rotate", "shc")

        store = keystore()  # the rotation's files tell the cached store to reload
        assert store.signing_key("shc").kid != old
        statuses = {i.kid: i.status for i in store.infos() if i.purpose == "shc"}
        assert statuses[old] == "retired"
        assert old in {k.kid for k in store.trusted_keys()}
        listing = _run("list")
        assert old in listing
        assert "retired" in listing


def test_export_has_every_public_key_and_no_private_one(tmp_path: Path) -> None:
    with override_settings(CERTIFICATE_KEYS_DIR=tmp_path / "keys"):
        _run("generate")
        target = tmp_path / "bundle.json"

        _run("export", str(target))

        text = target.read_text()
        assert "PRIVATE KEY" not in text
        bundle = json.loads(text)
        assert {key["purpose"] for key in bundle["keys"]} == set(FORMATS)
        assert "BEGIN CERTIFICATE" in bundle["csca_certificate"]


def test_signing_without_keys_says_what_to_run(tmp_path: Path) -> None:
    with pytest.raises(KeysMissing) as missing:
        KeyStore(tmp_path / "none").signing_key("eu_dcc")

    assert "vaxnet keys generate" in str(missing.value.message)
