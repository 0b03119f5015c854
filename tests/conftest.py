"""Every test reads English unless it asks for another language (a developer's Chinese locale must not
change what the tests compare); kernels and subprocesses the tests start inherit it."""

from __future__ import annotations

import os

os.environ["GEOLAB_LANG"] = "en"
