"""Allow ``python -m capacity``."""

from capacity.cli import main

main()
