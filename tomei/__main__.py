"""``python -m tomei`` runs the ``tomei`` command."""
import sys

from tomei.cli import main

sys.exit(main())
