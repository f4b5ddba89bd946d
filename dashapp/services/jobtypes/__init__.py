"""Every job type, one module each; importing this package registers them all with
dashapp.services.jobs (which imports it lazily on first use of the registry)."""
from dashapp.services.jobtypes import health, stress  # noqa: F401
from dashapp.services.jobtypes import export  # noqa: F401
from dashapp.services.jobtypes import report  # noqa: F401
from dashapp.services.jobtypes import backtest  # noqa: F401
from dashapp.services.jobtypes import retention  # noqa: F401
from dashapp.services.jobtypes import compliance  # noqa: F401
from dashapp.services.jobtypes import runbook  # noqa: F401  (runbook actions that run on a worker)
from dashapp.services.jobtypes import retrain  # noqa: F401  (model retraining, services/models)
