"""/api/v1/exports: launch an export, read its state, download its file.

Mounted next to api_v1 with the same guards (every view declares its permission; service errors
become JSON with their status). Downloads stream the file from disk (`send_file`), never loading it,
and every one is audited."""
from __future__ import annotations

from flask import Blueprint, jsonify, request, send_file, url_for

from dashapp.api.auth import install_guards, requires
from dashapp.extensions import csrf
from dashapp.security.permissions import Perm
from dashapp.services.errors import ValidationError

bp = Blueprint("api_exports", __name__)
install_guards(bp)
csrf.exempt(bp)  # bearer-token callers send no CSRF token; cookie sessions are checked below


@bp.before_request
def _csrf_for_cookie_sessions():
    """A POST authenticated by the session cookie must carry the CSRF token (as Dash's renderer
    sends it); a bearer token cannot be sent cross-site by a browser, so it needs none."""
    from flask_login import current_user

    bearer = request.headers.get("Authorization", "").startswith("Bearer ")
    if request.method == "POST" and not bearer and current_user.is_authenticated:
        csrf.protect()


def _port():
    from workers.celery_app import current_job_port

    return current_job_port()


def _job_body(job) -> dict:
    from dashapp.exports import service

    row = service.summary(job)
    body = {"id": job.id, "state": job.state, "progress": row["progress"], "message": row["message"],
            "params": job.params, "created_by": job.created_by, "created_at": row["created_at"],
            "result": job.result if job.state == "succeeded" else None}
    if row["url"]:
        body["download_url"] = url_for("api_exports.download", job_id=job.id)
    return body


@bp.post("/exports")
@requires(Perm.EXPORTS_DOWNLOAD)
def launch():
    """`{"dataset": "orders", "format": "xlsx", "since": "...", "until": "...", "filters": {...}}`
    -> 202 with the job; 422 names the bad field. `Idempotency-Key` makes a retry return the same job."""
    from dashapp.exports import service
    from dashapp.security.guards import current_role, current_username

    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise ValidationError("body must be a JSON object: dataset, format, since, until, filters", field="body")
    job = service.launch_export(current_username(), current_role(), body, request.headers.get("Idempotency-Key"),
                                port=_port())
    return jsonify(_job_body(job)), 202


@bp.get("/exports/<job_id>")
@requires(Perm.EXPORTS_DOWNLOAD)
def status(job_id: str):
    from dashapp.exports import service

    return jsonify(_job_body(service.export_job(job_id)))


@bp.get("/exports/<job_id>/download")
@requires(Perm.EXPORTS_DOWNLOAD)
def download(job_id: str):
    """The file of a succeeded export: 404 unknown job or file gone, 409 not (or never) finished."""
    from flask import g

    from dashapp.exports import service
    from dashapp.security.guards import current_username

    found = service.downloadable(job_id)
    service.record_download(current_username(), job_id, found, "token" if g.get("api_user") else "session")
    response = send_file(found.path, mimetype=found.mime, as_attachment=True, download_name=found.download_name,
                         conditional=True, etag=found.sha256 or True, max_age=0)
    response.headers["X-Content-SHA256"] = found.sha256
    response.headers["Cache-Control"] = "private, no-store"
    return response
