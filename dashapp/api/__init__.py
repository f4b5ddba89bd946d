"""The REST API under /api/v1. Authentication is attached where the blueprint is mounted, so an
endpoint added later cannot forget it; each endpoint names its permission with `@requires`."""
from flask import Flask

from dashapp.extensions import csrf


def register(server: Flask) -> None:
    from dashapp.api.v1 import bp

    csrf.exempt(bp)  # bearer tokens need no CSRF token; cookie sessions are checked in auth.install_guards
    server.register_blueprint(bp, url_prefix="/api/v1")
    from dashapp.api.downloads import bp as exports_bp  # exports: launch, status, download
    server.register_blueprint(exports_bp, url_prefix="/api/v1")
    from dashapp.api.report_files import bp as report_files_bp  # archived report downloads (GET only)
    server.register_blueprint(report_files_bp, url_prefix="/api/v1/reports")
    from dashapp.api.v1_alerts import bp as alerts_bp  # alerts inbox, history, actions, incidents

    csrf.exempt(alerts_bp)  # as api_v1: cookie sessions are checked in auth.install_guards
    server.register_blueprint(alerts_bp, url_prefix="/api/v1")
    from dashapp.api.v1_compliance import bp as compliance_bp  # compliance report files (GET only)
    server.register_blueprint(compliance_bp, url_prefix="/api/v1/compliance")
    from dashapp.api.v1_models import bp as models_bp  # model registry: signal, live-at, promote, rollback
    csrf.exempt(models_bp)  # as api_v1: cookie sessions are checked in auth.install_guards
    server.register_blueprint(models_bp, url_prefix="/api/v1")
    from dashapp.api.v1_approvals import bp as approvals_bp  # four-eyes requests: list, approve, reject, cancel
    csrf.exempt(approvals_bp)  # as api_v1: cookie sessions are checked in auth.install_guards
    server.register_blueprint(approvals_bp, url_prefix="/api/v1")
