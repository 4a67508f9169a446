"""Staff's side of the mail: one module per admin, the dashboard, exports and the test send.

Django's admin autodiscovery imports this package; importing each admin module registers it.
"""

from . import (  # noqa: F401  (each module registers its admins)
    dashboard,
    history,
    subscribers,
    subscriptions,
    suppressed,
)
