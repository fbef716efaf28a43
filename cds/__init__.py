"""Clinical decision support: what happens to one note (schemas, model, guardrails, pipeline)."""

import logging as _logging

__version__ = "0.1.0"

# bitsandbytes tries to fetch an optional CPU kernel from a model hub at import time and logs a
# warning when it cannot; we never fetch code at run time, and its fallback kernel is used.
_logging.getLogger("bitsandbytes.backends.cpu.ops").setLevel(_logging.ERROR)
