"""Typed errors that every edge (page, REST view, CLI, task) maps to its own kind of answer."""
from __future__ import annotations


class ServiceError(Exception):
    """Base class. `http_status` is what a REST view answers; `message` is shown to people."""

    http_status = 400

    def __init__(self, message: str, field: str | None = None, details: list | None = None):
        super().__init__(message)
        self.message = message
        self.field = field
        self.details = details or []

    def to_dict(self) -> dict:
        body = {"error": type(self).__name__, "message": self.message}
        if self.field:
            body["field"] = self.field
        if self.details:
            body["details"] = self.details
        return body


class ValidationError(ServiceError):
    http_status = 422


class PermissionDenied(ServiceError):
    http_status = 403


class NotFound(ServiceError):
    http_status = 404


class Conflict(ServiceError):
    http_status = 409
