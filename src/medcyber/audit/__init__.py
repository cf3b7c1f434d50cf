"""The audit trail: a hash chain over every recorded change, verifiable in the store and offline.

``chain`` is pure (canonical serialisation, SHA-256 chaining, verification of events or exported lines);
``medcyber.services.audit`` records, verifies and exports the events kept in the store.
"""

from .chain import (
    GENESIS_HASH,
    ChainedEvent,
    EventFields,
    Problem,
    VerifyResult,
    event_hash,
    verify_csv,
    verify_events,
    verify_lines,
)

__all__ = [
    "GENESIS_HASH",
    "ChainedEvent",
    "EventFields",
    "Problem",
    "VerifyResult",
    "event_hash",
    "verify_csv",
    "verify_events",
    "verify_lines",
]
