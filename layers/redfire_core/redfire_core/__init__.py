"""RedFire's core: domain, adapters, services (the ``core`` Lambda layer)."""

# Every function imports this package: on a SnapStart snapshot's init this registers the
# after-restore hook (redfire_core.snapstart); elsewhere it only reads one variable.
from redfire_core import snapstart as snapstart
