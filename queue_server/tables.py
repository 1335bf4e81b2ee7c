"""Every module that defines tables, imported once so that `Base.metadata` is complete
(for Alembic autogenerate and for relationships between areas). Add a line per new module."""
from . import models  # noqa: F401  core: halls, catalogue, tickets, cases, events
from . import appointments  # noqa: F401  kiosk: appointments (预约取号)
from . import devices  # noqa: F401  display: device health and alerts (heartbeats)
