"""The `vaxnet` command: every management command under one name."""

import os
import sys


def main() -> None:
    """Run a management command, e.g. `vaxnet load-country IN` or `vaxnet demo`."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "vaxnet.settings")
    from django.core.management import execute_from_command_line

    argv = list(sys.argv)
    # Hyphenated spellings are accepted for our commands: load-country = load_country.
    if len(argv) > 1 and "-" in argv[1] and not argv[1].startswith("-"):
        argv[1] = argv[1].replace("-", "_")
    argv[0] = "vaxnet"
    execute_from_command_line(argv)


if __name__ == "__main__":
    main()
