"""Application-wide settings stored in the database (trading mode and later flags)."""
from __future__ import annotations

from dashapp.extensions import db
from dashapp.services.unit_of_work import unit_of_work
from models import AppSetting

DEFAULTS = {"trading_mode": "paper"}


def get(key: str):
    row = db.session.get(AppSetting, key)
    return row.value if row is not None else DEFAULTS.get(key)


def put(key: str, value, actor: str) -> None:
    with unit_of_work() as session:
        row = session.get(AppSetting, key)
        if row is None:
            session.add(AppSetting(key=key, value=value, updated_by=actor))
        else:
            row.value, row.updated_by = value, actor
