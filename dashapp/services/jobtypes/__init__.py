"""Every job type, one module each; importing this package registers them all with
dashapp.services.jobs (which imports it lazily on first use of the registry)."""
from dashapp.services.jobtypes import health, stress  # noqa: F401
from dashapp.services.jobtypes import export  # noqa: F401
from dashapp.services.jobtypes import report  # noqa: F401
from dashapp.services.jobtypes import backtest  # noqa: F401
from dashapp.services.jobtypes import retention  # noqa: F401
