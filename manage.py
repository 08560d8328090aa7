#!/usr/bin/env python
"""Django's manage.py; the same commands are available as `vaxnet …`."""

from vaxnet.cli import main

if __name__ == "__main__":
    main()
