"""Browser tests: a real vaxnet server in a subprocess, driven by Playwright in chromium."""

import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.servers import free_port, server_env

ROOT = Path(__file__).resolve().parents[2]
OUTPUT = ROOT / "test-output" / "e2e"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


@pytest.fixture(scope="session")
def server_var(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Return the folder the server keeps its database and its sent SMS in."""
    return tmp_path_factory.mktemp("e2e-var")


@pytest.fixture(scope="session")
def sms_file(server_var: Path) -> Path:
    """Return the file the server writes each SMS to, one JSON line per message."""
    return server_var / "sms.jsonl"


@pytest.fixture(scope="session")
def server(server_var: Path, sms_file: Path) -> Iterator[str]:
    """Serve a freshly built TEST demo from its own SQLite database; yield its base URL."""
    # Citizens sign in with a code sent by SMS: the tests read it where a phone would.
    env = server_env(server_var, VAXNET_SMS_FILE=str(sms_file))
    vaxnet = [sys.executable, "-m", "vaxnet.cli"]
    for args in (
        ["migrate", "-v0"],
        ["load-country", "TEST"],
        ["demo", "--facilities", "30", "--days", "3"],
    ):
        subprocess.run(
            [*vaxnet, *args], cwd=ROOT, env=env, check=True, capture_output=True, timeout=300
        )
    port = free_port()
    process = subprocess.Popen(
        [*vaxnet, "runserver", f"127.0.0.1:{port}", "--noreload"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    break
            except OSError:
                time.sleep(0.2)
        else:
            raise RuntimeError("the server did not start")
        yield base
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"chromium is not installed at {CHROMIUM}: run `make install`")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        yield browser
        browser.close()


@pytest.fixture
def page(browser: object) -> Iterator[object]:
    context = browser.new_context(viewport={"width": 390, "height": 844}, locale="en-GB")  # type: ignore[attr-defined]
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture(scope="session")
def output() -> Path:
    OUTPUT.mkdir(parents=True, exist_ok=True)
    return OUTPUT
