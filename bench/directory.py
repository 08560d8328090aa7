"""Centre directory page: requests per second against a bare view serving the same bytes.

Builds the India demo (500 centres) in a throwaway SQLite database, then times
the directory page for one state through Django's full middleware stack, and a
bare view returning the page's bytes from memory in the same run. The ratio is
the figure; the machines are shared and noisy.
"""

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
REQUESTS = int(os.environ.get("BENCH_REQUESTS", "400"))
URL = "/centres/?region=IN-TN"


def _prepare(var_dir: str) -> dict[str, str]:
    env = {**os.environ, "VAXNET_DEV": "1", "VAXNET_COUNTRY": "IN", "VAXNET_VAR_DIR": var_dir}
    env.pop("DATABASE_URL", None)
    for args in (
        ["migrate", "-v0"],
        ["load-country", "IN"],
        ["demo", "--facilities", "500", "--days", "7"],
    ):
        subprocess.run(
            [sys.executable, "-m", "vaxnet.cli", *args],
            cwd=ROOT,
            env=env,
            check=True,
            capture_output=True,
        )
    return env


def _rate(client: object, url: str) -> tuple[float, list[float]]:
    latencies = []
    start = time.perf_counter()
    for _ in range(REQUESTS):
        begin = time.perf_counter()
        response = client.get(url)  # type: ignore[attr-defined]
        latencies.append(time.perf_counter() - begin)
        assert response.status_code == 200
    return REQUESTS / (time.perf_counter() - start), sorted(latencies)


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="vaxnet-bench-") as var_dir:
        os.environ.update(_prepare(var_dir))
        os.environ["DJANGO_SETTINGS_MODULE"] = "vaxnet.settings"
        sys.path.insert(0, str(ROOT))
        import django

        django.setup()
        from django.conf import settings
        from django.test import Client

        from bench import urls

        settings.ROOT_URLCONF = "bench.urls"
        settings.DEBUG = False
        client = Client()
        page = client.get(URL)
        urls.BODY["bytes"] = page.content
        for url in (URL, "/bench/bare"):  # warm caches
            for _ in range(20):
                client.get(url)
        page_rate, page_lat = _rate(client, URL)
        bare_rate, _ = _rate(client, "/bench/bare")
        p95 = page_lat[int(len(page_lat) * 0.95)] * 1000
        size = len(page.content)
        print(f"directory page ({URL}, {size} bytes): {page_rate:.0f} req/s, p95 {p95:.1f} ms")
        print(f"bare view, same bytes: {bare_rate:.0f} req/s")
        print(f"ratio directory/bare: {page_rate / bare_rate:.2f}")


if __name__ == "__main__":
    main()
