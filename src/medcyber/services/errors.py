"""Errors the services raise for the interfaces to turn into messages and exit codes."""

from __future__ import annotations


class ServiceError(Exception):
    """A user-facing problem: the message is meant to be shown as it is."""


class NotFoundError(ServiceError, LookupError):
    pass


class ConflictError(ServiceError):
    pass
