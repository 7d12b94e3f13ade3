"""`python -m gancourse ...`: see gancourse.cli."""

import os
import sys

from gancourse.cli import main

try:
    code = main()
    sys.stdout.flush()
except BrokenPipeError:  # `python -m gancourse models | head`: the reader left, nothing is wrong
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    code = 0
raise SystemExit(code)
