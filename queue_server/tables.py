"""Every module that defines tables, imported once so that `Base.metadata` is complete
(for Alembic autogenerate and for relationships between areas). Add a line per new module."""
from . import models  # noqa: F401  core: halls, catalogue, tickets, cases, events
from . import appointments  # noqa: F401  kiosk: appointments (预约取号)
from . import devices  # noqa: F401  display: device health and alerts (heartbeats)
from .ratings import models as _ratings  # noqa: F401  好差评: ratings, follow-ups, appeals, SMS, slips
from .supervision import models as _supervision  # noqa: F401  电子监察: warnings, suspensions, audit
from . import pairing  # noqa: F401  kiosk browsers paired with their device (issue 20)
