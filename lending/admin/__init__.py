"""Back-office admin of the lending app: programs and agreements, loans, what the settlement
run wrote, reconciliation breaks (one module each, registered on import)."""

from lending.admin import (  # noqa: F401
    agreements,
    corrections,
    loans,
    reconciliation,
    settlement,
)
