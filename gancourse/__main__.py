"""`python -m gancourse ...`: see gancourse.cli."""

from gancourse.cli import main

raise SystemExit(main())
