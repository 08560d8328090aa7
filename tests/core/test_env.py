"""Settings readers fail loudly on bad input."""

from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from vaxnet.core.env import env_bool, env_int, env_list, env_secret, env_str


def test_it_reads_yes_and_no(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FLAG", "yes")
    assert env_bool("FLAG") is True
    monkeypatch.setenv("FLAG", "0")
    assert env_bool("FLAG", True) is False


def test_it_refuses_a_muddled_flag(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FLAG", "maybe")
    with pytest.raises(ImproperlyConfigured, match="FLAG='maybe'"):
        env_bool("FLAG")


def test_it_refuses_a_number_that_is_not_one(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COUNT", "ten")
    with pytest.raises(ImproperlyConfigured, match="not a whole number"):
        env_int("COUNT", 1)


def test_it_splits_lists(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOSTS", "a.example, b.example,,")
    assert env_list("HOSTS", []) == ["a.example", "b.example"]


def test_it_requires_a_variable_without_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NOPE", raising=False)
    with pytest.raises(ImproperlyConfigured, match="NOPE must be set"):
        env_str("NOPE")


def test_it_reads_a_secret_from_a_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    secret = tmp_path / "key"
    secret.write_text("s3cret\n")
    monkeypatch.delenv("TOKEN", raising=False)
    monkeypatch.setenv("TOKEN_FILE", str(secret))
    assert env_secret("TOKEN") == "s3cret"


def test_it_refuses_a_secret_given_twice(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("TOKEN", "a")
    monkeypatch.setenv("TOKEN_FILE", str(tmp_path / "key"))
    with pytest.raises(ImproperlyConfigured, match="not both"):
        env_secret("TOKEN")


def test_it_refuses_a_missing_secret_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("TOKEN", raising=False)
    monkeypatch.setenv("TOKEN_FILE", str(tmp_path / "absent"))
    with pytest.raises(ImproperlyConfigured, match="cannot be read"):
        env_secret("TOKEN")


def test_it_refuses_a_missing_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TOKEN", raising=False)
    monkeypatch.delenv("TOKEN_FILE", raising=False)
    with pytest.raises(ImproperlyConfigured, match="TOKEN must be set"):
        env_secret("TOKEN")
