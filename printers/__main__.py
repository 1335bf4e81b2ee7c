"""``python -m printers JOB.bin OUT.png [--profile P58]``: render a print job to PNG."""
import sys

from .render import main

sys.exit(main())
