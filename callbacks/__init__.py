"""Thin callbacks, one module per page. Each module's `register()` defines its callbacks with
`guarded_callback`, so every callback names the permission it needs."""


def register_all() -> None:
    from callbacks import admin, audit, command_center, execution, jobs, risk, risk_stress, shell, trading

    for module in (shell, command_center, trading, execution, risk, risk_stress, jobs, audit, admin):
        module.register()
    from callbacks import reports  # scheduled reports

    reports.register()
    from callbacks import exports  # the Exports page

    exports.register()
    from callbacks import backtests  # the Backtests page

    backtests.register()
    from callbacks import admin_data_quality  # the Admin page's data-quality section

    admin_data_quality.register()
    from callbacks import desk_views, prices, regime  # issue 10's views: prices, routing, risk gate, options

    for module in (prices, desk_views, regime):
        module.register()
    from callbacks import desk  # the visual system: figure templates per theme, grid freeze

    desk.register()
    from callbacks import alerts, alerts_editors, alerts_incidents  # the Alerts page and the navbar's alert badge

    for module in (alerts, alerts_incidents, alerts_editors):
        module.register()
    from callbacks import models  # the Models page (model operations)

    models.register()
    from callbacks import operations, operations_logs, operations_runbooks  # Operations: Health, Logs, Runbooks

    for module in (operations, operations_logs, operations_runbooks):
        module.register()
    from callbacks import account, approvals, mfa_prompt, security  # governance: Account, Approvals, Security, MFA

    for module in (mfa_prompt, account, approvals, security):
        module.register()
    from callbacks import compliance, compliance_holds  # governance: Compliance (reports, retention, holds, privacy)

    for module in (compliance, compliance_holds):
        module.register()
