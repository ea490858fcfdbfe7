"""Helpers for the course *Adapting Large Language Models*.

One module per concern; notebooks import what they need, e.g.::

    from course_utils import profiles, results, plotting
    profile = profiles.get_profile()
"""
from __future__ import annotations

import logging as _logging
import os as _os
import time as _time
import warnings as _warnings

__version__ = "0.1.0"
#: When the course package was first imported: a notebook's results count seconds from here.
IMPORTED_AT = _time.time()

# bitsandbytes tries to fetch an optional faster CPU 4-bit kernel from the Hub and logs a
# warning when it cannot. The course runs offline and the built-in kernel works: keep quiet.
_logging.getLogger("bitsandbytes.backends.cpu.ops").setLevel(_logging.ERROR)

# The trainers map every data set through several steps (tokenize, add EOS, truncate...), each
# with its own progress bar: a wall of bars above every training cell. The course's data sets
# take a second to map; set HF_DATASETS_DISABLE_PROGRESS_BARS=0 to see them anyway.
_os.environ.setdefault("HF_DATASETS_DISABLE_PROGRESS_BARS", "1")

# peft 0.21 reads `model.is_gradient_checkpointing` whenever it wraps a model, a property that
# transformers 5 deprecates in favour of `is_activation_checkpointing`: a red warning under every
# LoRA cell that the learner can do nothing about. The course never turns checkpointing on.
_warnings.filterwarnings("ignore", message="`is_gradient_checkpointing` is deprecated", category=FutureWarning)

# peft's prompt tuning drops the position ids that trl's collator and generate() pass in (its
# virtual tokens shift every position, so the model counts them itself) and warns each time it
# does. That is the intended behaviour, not something the learner should fix (lesson 04).
_warnings.filterwarnings("ignore", message="Position ids are not supported for parameter efficient tuning")
