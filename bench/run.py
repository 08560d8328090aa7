"""Run every benchmark in this folder; each prints its figure and its ratio to a ceiling."""

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
# The dashboard's bench loads ten million records and takes hours: `make bench-dashboard`.
SKIP = {"run.py", "urls.py", "__init__.py", "dashboard.py"}


def main() -> int:
    failed = 0
    for script in sorted(HERE.glob("*.py")):
        if script.name in SKIP:
            continue
        print(f"== {script.stem}", flush=True)
        failed += subprocess.run([sys.executable, str(script)], check=False).returncode != 0
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
