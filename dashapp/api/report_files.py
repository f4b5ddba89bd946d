"""Downloads from the report archive: GET /api/v1/reports/runs/<id>/download?format=pdf|xlsx.

A session (the Reports page's links) or a bearer token, with VIEW_REPORTS. The file is checked
against the SHA-256 recorded when it was produced before it is served, and each download is audited.
"""
from __future__ import annotations

import hashlib
import io

from flask import Blueprint, jsonify, request, send_file

from dashapp.api.auth import install_guards, requires
from dashapp.reports import FORMATS
from dashapp.reports.archive import file_path, get_run
from dashapp.security.guards import current_username
from dashapp.security.permissions import Perm
from dashapp.services import audit
from dashapp.services.errors import NotFound, ValidationError

bp = Blueprint("report_files", __name__)
install_guards(bp)


@bp.get("/runs/<run_id>/download")  # a string: an unmatched int rule would fall through to the Dash pages
@requires(Perm.VIEW_REPORTS)
def download(run_id: str):
    if not run_id.isdigit():
        raise NotFound(f"no archived report with id {run_id!r}", field="run_id")
    fmt = request.args.get("format", "pdf")
    if fmt not in FORMATS:
        raise ValidationError(f"format must be one of {', '.join(FORMATS)}, not {fmt!r}", field="format")
    path, item = file_path(get_run(int(run_id)), fmt)
    data = path.read_bytes()
    if hashlib.sha256(data).hexdigest() != item["sha256"]:
        return jsonify(error="Conflict", field="format",
                       message=f"the archived {fmt} file of report {run_id} does not match its recorded SHA-256"), 409
    audit.record(current_username(), "report_run.download", f"report_run:{run_id}", {"format": fmt})
    response = send_file(io.BytesIO(data), mimetype=FORMATS[fmt][1], as_attachment=True, download_name=path.name,
                         max_age=0, etag=item["sha256"])
    response.headers["X-Content-SHA256"] = item["sha256"]
    return response
