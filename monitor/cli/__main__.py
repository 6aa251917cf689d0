"""``python -m monitor.cli``: the ``newswatch`` command."""

from monitor.cli import main

main()
