"""Downloads of compliance report files: GET /api/v1/compliance/runs/<job_id>/files/<name>.

A session (the Compliance page's links) or a bearer token, with COMPLIANCE_VIEW. The file is checked
against the SHA-256 recorded when it was written before it is served; each download is audited."""
from __future__ import annotations

from flask import Blueprint, send_file

from dashapp.api.auth import install_guards, requires
from dashapp.security.guards import current_username
from dashapp.security.permissions import Perm
from dashapp.services import audit
from dashapp.services.governance import compliance_runs
from dashapp.services.unit_of_work import unit_of_work

bp = Blueprint("api_compliance", __name__)
install_guards(bp)


@bp.get("/runs/<job_id>/files/<name>")
@requires(Perm.COMPLIANCE_VIEW)
def download(job_id: str, name: str):
    found = compliance_runs.file_for(job_id, name)
    with unit_of_work():
        audit.record(current_username(), "compliance.download", f"job:{job_id}", {"file": found.name})
    response = send_file(found.path, mimetype=found.mime, as_attachment=True, download_name=found.name, max_age=0,
                         etag=found.sha256)
    response.headers["X-Content-SHA256"] = found.sha256
    return response
