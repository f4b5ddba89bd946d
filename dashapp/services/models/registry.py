"""The model registry: models, versions with their artifacts on disk, and the champion/challenger aliases
with an append-only history of every move, so "which version was live at T" is one query (`live_at`).

`promote(...)` is the one entry point for changing the champion: permission (MODELS_PROMOTE) -> a reason ->
the version's validation gates (a failed or missing gate blocks a promotion and names the gate) -> fresh MFA.
A promotion then waits for a second person (four-eyes, `approvals`, action "model.promote"); a rollback to a
version that was champion before is immediate. Either way: alias row + history row + audit record in one
transaction (`_change_champion`).
"""
from __future__ import annotations

import functools
import re
import subprocess
from datetime import datetime
from importlib import metadata
from pathlib import Path

import sqlalchemy as sa
from flask import current_app
from pydantic import BaseModel, ConfigDict, Field

from dashapp.extensions import db
from dashapp.security.permissions import Perm, has_permission
from dashapp.services import approvals, audit, mfa
from dashapp.services.errors import Conflict, NotFound, PermissionDenied, ValidationError
from dashapp.services.unit_of_work import unit_of_work
from models import MlAliasHistory, MlModel, MlModelAlias, MlModelVersion, utcnow

NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,59}$")
REASON_MAX = 500
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def check_name(name: str) -> str:
    if not isinstance(name, str) or not NAME_RE.match(name):
        raise ValidationError("model name must be 1-60 lower-case letters, digits, '_' or '-'", field="model")
    return name


def check_reason(reason: str | None) -> str:
    reason = (reason or "").strip()
    if len(reason) < 3:
        raise ValidationError("give a reason (at least 3 characters)", field="reason")
    if len(reason) > REASON_MAX:
        raise ValidationError(f"the reason is longer than {REASON_MAX} characters", field="reason")
    if _CONTROL.search(reason):
        raise ValidationError("the reason must not contain control characters", field="reason")
    return reason


@functools.lru_cache(maxsize=1)
def code_version() -> str:
    """The package version plus the git commit when the code runs from a checkout."""
    try:
        version = metadata.version("trading-desk-cockpit")
    except metadata.PackageNotFoundError:
        version = "unknown"
    try:
        sha = subprocess.run(["git", "rev-parse", "--short=12", "HEAD"], cwd=Path(__file__).resolve().parent,
                             capture_output=True, text=True, timeout=5).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        sha = ""
    return f"{version}+{sha}" if sha else version


def instance_dir() -> Path:
    return Path(current_app.config["COCKPIT_SETTINGS"].instance_dir)


def artifact_file(version: MlModelVersion) -> Path:
    return instance_dir() / version.artifact_path


# --- reads -------------------------------------------------------------------------------------


def get_model(name: str) -> MlModel:
    model = db.session.execute(sa.select(MlModel).where(MlModel.name == check_name(name))).scalar()
    if model is None:
        raise NotFound(f"no model {name!r}", field="model")
    return model


def get_version(name: str, version: int) -> MlModelVersion:
    model = get_model(name)
    row = db.session.execute(sa.select(MlModelVersion).where(MlModelVersion.model_id == model.id,
                                                             MlModelVersion.version == int(version))).scalar()
    if row is None:
        raise NotFound(f"model {name!r} has no version {version}", field="version")
    return row


def alias_version(model: MlModel, alias: str) -> MlModelVersion | None:
    return db.session.execute(
        sa.select(MlModelVersion).join(MlModelAlias, MlModelAlias.version_id == MlModelVersion.id)
        .where(MlModelAlias.model_id == model.id, MlModelAlias.alias == alias)).scalar()


def live_at(name: str, alias: str, at: datetime) -> int | None:
    """The version number `alias` pointed to at instant `at` (None: nothing yet, or cleared). One query
    over the append-only history: the newest move at or before `at`."""
    if alias not in ("champion", "challenger"):
        raise ValidationError("alias must be champion or challenger", field="alias")
    model = get_model(name)
    return db.session.execute(
        sa.select(MlAliasHistory.version)
        .where(MlAliasHistory.model_id == model.id, MlAliasHistory.alias == alias, MlAliasHistory.moved_at <= at)
        .order_by(MlAliasHistory.moved_at.desc(), MlAliasHistory.id.desc()).limit(1)).scalar()


def list_models() -> list[dict]:
    rows = []
    for model in db.session.execute(sa.select(MlModel).order_by(MlModel.name)).scalars():
        champion, challenger = alias_version(model, "champion"), alias_version(model, "challenger")
        latest = db.session.execute(sa.select(sa.func.max(MlModelVersion.version))
                                    .where(MlModelVersion.model_id == model.id)).scalar()
        rows.append({"name": model.name, "symbol": model.symbol, "interval": model.interval,
                     "description": model.description, "versions": latest or 0,
                     "champion": champion.version if champion else None,
                     "challenger": challenger.version if challenger else None,
                     "champion_age_days": _age_days(champion), "created_at": model.created_at})
    return rows


def _age_days(version: MlModelVersion | None) -> float | None:
    if version is None:
        return None
    return round((utcnow() - version.created_at).total_seconds() / 86400, 2)


def versions(name: str) -> list[dict]:
    model = get_model(name)
    champion, challenger = alias_version(model, "champion"), alias_version(model, "challenger")
    aliases = {v.id: a for a, v in (("champion", champion), ("challenger", challenger)) if v is not None}
    out = []
    for v in db.session.execute(sa.select(MlModelVersion).where(MlModelVersion.model_id == model.id)
                                .order_by(MlModelVersion.version.desc())).scalars():
        out.append({"version": v.version, "alias": aliases.get(v.id, ""), "gates_passed": v.gates_passed,
                    "failed_gates": ", ".join(g["name"] for g in v.gates if not g.get("passed")),
                    "oos_sharpe": v.metrics.get("oos_sharpe"), "dsr": v.metrics.get("deflated_sharpe"),
                    "hit_rate": v.metrics.get("oos_hit_rate"), "trials": v.trials, "seed": v.seed,
                    "job_id": v.job_id or "", "created_by": v.created_by, "created_at": v.created_at})
    return out


def version_detail(name: str, version: int) -> dict:
    v = get_version(name, version)
    return {"model": name, "version": v.version, "artifact_path": v.artifact_path, "train_start": v.train_start,
            "train_end": v.train_end, "features": list(v.features), "params": dict(v.params),
            "metrics": dict(v.metrics), "gates": list(v.gates), "gates_passed": v.gates_passed, "seed": v.seed,
            "trials": v.trials, "code_version": v.code_version, "job_id": v.job_id, "created_by": v.created_by,
            "created_at": v.created_at}


def history(name: str, limit: int = 200) -> list[dict]:
    model = get_model(name)
    rows = db.session.execute(sa.select(MlAliasHistory).where(MlAliasHistory.model_id == model.id)
                              .order_by(MlAliasHistory.moved_at.desc(), MlAliasHistory.id.desc())
                              .limit(limit)).scalars()
    return [{"id": r.id, "alias": r.alias, "action": r.action, "version": r.version,
             "from_version": r.from_version, "moved_by": r.moved_by, "moved_at": r.moved_at, "reason": r.reason,
             "evidence": r.evidence} for r in rows]


# --- writes ------------------------------------------------------------------------------------


def ensure_model(name: str, symbol: str, interval: str, actor: str, description: str = "") -> MlModel:
    with unit_of_work() as session:
        model = session.execute(sa.select(MlModel).where(MlModel.name == check_name(name))).scalar()
        if model is None:
            model = MlModel(name=name, symbol=symbol, interval=interval, description=description[:300],
                            created_by=actor, created_at=utcnow())
            session.add(model)
            session.flush()
            audit.record(actor, "model.create", f"model:{name}", {"symbol": symbol, "interval": interval})
        return model


def register_version(name: str, estimator, *, actor: str, train_start: datetime, train_end: datetime,
                     features: list[str], params: dict, metrics: dict, gates: list[dict], seed: int,
                     trials: int, job_id: str | None, as_challenger: bool = True) -> MlModelVersion:
    """Store a new version (artifact written first, the row and an audit record in one transaction) and,
    by default, make it the challenger so it runs in shadow beside the champion."""
    import joblib

    with unit_of_work() as session:
        model = get_model(name)
        # Serialise version numbers per model: the model row is locked for the transaction (PostgreSQL).
        session.execute(sa.select(MlModel.id).where(MlModel.id == model.id).with_for_update())
        number = (session.execute(sa.select(sa.func.max(MlModelVersion.version))
                                  .where(MlModelVersion.model_id == model.id)).scalar() or 0) + 1
        relative = Path("models") / name / str(number) / "model.joblib"
        path = instance_dir() / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        joblib.dump(estimator, path)
        row = MlModelVersion(model_id=model.id, version=number, artifact_path=str(relative),
                             train_start=train_start, train_end=train_end, features=list(features),
                             params=params, metrics=metrics, gates=gates,
                             gates_passed=all(g["passed"] for g in gates) if gates else None, seed=int(seed),
                             trials=int(trials), code_version=code_version(), job_id=job_id, created_by=actor,
                             created_at=utcnow())
        session.add(row)
        session.flush()
        audit.record(actor, "model.register", f"model:{name}:{number}",
                     {"job_id": job_id, "gates_passed": row.gates_passed, "seed": seed, "trials": trials})
        if as_challenger:
            _move(model, "challenger", row, "challenger", actor,
                  f"new version from {'job ' + job_id[:8] if job_id else 'registration'}", {"gates_passed":
                                                                                            row.gates_passed})
        return row


def load_estimator(version: MlModelVersion):
    import joblib

    path = artifact_file(version)
    if not path.exists():
        raise NotFound(f"the artifact of {version.version} is missing on disk ({version.artifact_path})",
                       field="version")
    estimator = joblib.load(path)
    if not hasattr(estimator, "predict_proba"):
        raise Conflict(f"the artifact of v{version.version} is not a probabilistic classifier", field="version")
    return estimator


def _move(model: MlModel, alias: str, target: MlModelVersion | None, action: str, actor: str, reason: str,
          evidence: dict) -> None:
    session = db.session
    current = session.get(MlModelAlias, (model.id, alias))
    from_version = session.get(MlModelVersion, current.version_id).version if current else None
    now = utcnow()
    if target is None:
        if current is not None:
            session.delete(current)
    elif current is None:
        session.add(MlModelAlias(model_id=model.id, alias=alias, version_id=target.id, updated_at=now))
    else:
        current.version_id, current.updated_at = target.id, now
    session.add(MlAliasHistory(model_id=model.id, alias=alias, version=target.version if target else None,
                               from_version=from_version, action=action, moved_by=actor, moved_at=now,
                               reason=reason, evidence=evidence))
    session.flush()


def previous_champion(name: str) -> int | None:
    """The version that was champion before the current one (what a rollback returns to)."""
    model = get_model(name)
    current = alias_version(model, "champion")
    if current is None:
        return None
    moves = db.session.execute(
        sa.select(MlAliasHistory.version, MlAliasHistory.from_version)
        .where(MlAliasHistory.model_id == model.id, MlAliasHistory.alias == "champion")
        .order_by(MlAliasHistory.moved_at.desc(), MlAliasHistory.id.desc()).limit(1)).first()
    return moves.from_version if moves and moves.version == current.version else None


def promote(actor: str, role: str | None, name: str, version: int, reason: str, *,
            rollback: bool = False) -> dict:
    """Ask for `version` to become the champion, or (rollback) return to the previous champion at once.

    A promotion is four-eyes: the checks run now (permission, reason, gates, not already champion) so a
    failed gate is refused at once, then an approval request waits for a second person with
    MODELS_PROMOTE (`approvals.approve` runs `_execute_promote`, which re-checks everything). A rollback is
    the emergency brake back to a version that was champion before: one person, a reason, fresh MFA."""
    _check_change(actor, role, name, version, reason, rollback)
    if rollback:
        mfa.require_fresh(actor, "model rollback")  # a fresh second factor in a browser session (GOVERNANCE.md)
        return _change_champion(actor, role, name, version, reason, rollback=True)
    mfa.require_fresh(actor, "model promotion")
    request = approvals.request(PROMOTE, {"model": name, "version": int(version), "reason": check_reason(reason)},
                                approvals.Actor(actor, role or ""), reason)
    return {"model": name, "version": int(version), "action": "promote_requested", "request_id": request.id}


def _check_change(actor: str, role: str | None, name: str, version: int, reason: str, rollback: bool) -> None:
    action = "rollback" if rollback else "promote"
    if not has_permission(role, Perm.MODELS_PROMOTE):
        audit.record(actor, f"model.{action}", f"model:{name}:{version}", {"role": role}, outcome="denied")
        raise PermissionDenied(f"your role ({role}) lacks the permission {Perm.MODELS_PROMOTE.value} "
                               f"needed to {action} a model")
    check_reason(reason)
    model, target = get_model(name), get_version(name, version)
    current = alias_version(model, "champion")
    if current is not None and current.id == target.id:
        raise Conflict(f"version {version} is already the champion of {name}", field="version")
    if not rollback:
        failed = [g["name"] for g in target.gates if not g.get("passed")]
        if target.gates_passed is None or not target.gates:
            raise Conflict(f"version {version} has no validation gates on record: promotion blocked", field="version")
        if failed:
            raise Conflict(f"promotion blocked: version {version} failed the gate(s) {', '.join(failed)}",
                           field="version")


def _change_champion(actor: str, role: str | None, name: str, version: int, reason: str, *, rollback: bool,
                     evidence_extra: dict | None = None) -> dict:
    action = "rollback" if rollback else "promote"
    with unit_of_work() as session:
        model = get_model(name)
        session.execute(sa.select(MlModel.id).where(MlModel.id == model.id).with_for_update())
        _check_change(actor, role, name, version, reason, rollback)  # again, under the lock
        target = get_version(name, version)
        current = alias_version(model, "champion")
        evidence = {"gates": [{k: g.get(k) for k in ("name", "passed", "value", "threshold")} for g in target.gates],
                    "metrics": {k: target.metrics.get(k) for k in ("oos_sharpe", "deflated_sharpe", "dm_pvalue")},
                    "role": role, **(evidence_extra or {})}
        _move(model, "champion", target, action, actor, reason, evidence)
        challenger = alias_version(model, "challenger")
        if challenger is not None and challenger.id == target.id:
            _move(model, "challenger", None, "clear", actor, f"version {version} became the champion", {})
        audit.record(actor, f"model.{action}", f"model:{name}:{version}",
                     {"from_version": current.version if current else None, "reason": reason, **(evidence_extra or {})})
        return {"model": name, "champion": target.version, "from_version": current.version if current else None,
                "action": action}


def _execute_promote(params: dict, requested_by: str, approved_by: str) -> dict:
    """Runs only inside `approvals.approve` of a model.promote request (the four-eyes choke point)."""
    approvals.require_executing(PROMOTE)
    from dashapp.services import users

    approver = users.find_by_username(approved_by)
    # approvals.check_approvable has already refused an approver whose role lacks MODELS_PROMOTE.
    role = approver.role_name if approver is not None else "risk"
    out = _change_champion(approved_by, role, params["model"], params["version"], params["reason"], rollback=False,
                           evidence_extra={"requested_by": requested_by, "approved_by": approved_by,
                                           "approval_request": approvals.executing_request_id()})
    return {**out, "outcome": f"{params['model']} v{out['champion']} is the champion (requested by {requested_by}, "
                              f"approved by {approved_by})"}


class _PromoteParams(BaseModel):
    model_config = ConfigDict(extra="forbid")
    model: str = Field(min_length=1, max_length=60)
    version: int = Field(gt=0, lt=2**31)
    reason: str = Field(min_length=1, max_length=REASON_MAX)


PROMOTE = "model.promote"
approvals.register_action(approvals.ActionSpec(
    name=PROMOTE, title="model promotion", request_perm=Perm.MODELS_PROMOTE, approve_perm=Perm.MODELS_PROMOTE,
    params_model=_PromoteParams, execute=_execute_promote,
    describe=lambda p: f"make {p['model']} v{p['version']} the champion", ttl_minutes=24 * 60, mfa=True))


def rollback(actor: str, role: str | None, name: str, reason: str) -> dict:
    """Return the champion alias to the version that held it before the current one, in one action."""
    previous = previous_champion(name)
    if previous is None:
        raise Conflict(f"{name} has no previous champion to roll back to", field="model")
    return promote(actor, role, name, previous, reason, rollback=True)
