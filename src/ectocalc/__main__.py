"""``python -m ectocalc``."""

from ectocalc.cli import main

main()
