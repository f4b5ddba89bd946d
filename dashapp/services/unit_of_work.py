"""The one place that commits. Services wrap their writes in `unit_of_work()`; nested use joins the
outer transaction, so a service that calls another still commits (or rolls back) exactly once."""
from __future__ import annotations

import contextlib
import contextvars

from dashapp.extensions import db

_depth: contextvars.ContextVar[int] = contextvars.ContextVar("uow_depth", default=0)


@contextlib.contextmanager
def unit_of_work():
    depth = _depth.get()
    token = _depth.set(depth + 1)
    try:
        yield db.session
        if depth == 0:
            db.session.commit()
    except BaseException:
        if depth == 0:
            db.session.rollback()
        raise
    finally:
        _depth.reset(token)
