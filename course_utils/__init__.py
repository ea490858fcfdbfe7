"""Helpers for the course *Adapting Large Language Models*.

One module per concern; notebooks import what they need, e.g.::

    from course_utils import profiles, results, plotting
    profile = profiles.get_profile()
"""
from __future__ import annotations

import logging as _logging
import time as _time

__version__ = "0.1.0"
#: When the course package was first imported: a notebook's results count seconds from here.
IMPORTED_AT = _time.time()

# bitsandbytes tries to fetch an optional faster CPU 4-bit kernel from the Hub and logs a
# warning when it cannot. The course runs offline and the built-in kernel works: keep quiet.
_logging.getLogger("bitsandbytes.backends.cpu.ops").setLevel(_logging.ERROR)
