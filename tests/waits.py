"""How long a test waits for something that must happen, sized for a loaded 2-core CI machine.

A wait returns as soon as its condition holds, so a generous bound costs nothing when things work and
keeps a slow machine from failing a correct program. GRID_TEST_WAIT_S overrides it (default 60 s).
"""

import os

WAIT_S = float(os.environ.get("GRID_TEST_WAIT_S", "60"))
WAIT_MS = int(WAIT_S * 1000)
