"""The Celery app the command line loads:

    celery -A workers.main:celery worker -Q default,jobs,reports
    celery -A workers.main:celery beat -s <instance>/celerybeat-schedule

Settings come from the environment (DATABASE_URL, REDIS_URL, COCKPIT_INSTANCE_DIR, SECRET_KEY), the
same way the web process reads them, so both sides meet on the same broker and database.
"""
from celery.signals import worker_process_init

from dashapp.config import Settings
from workers.celery_app import create_celery

celery = create_celery(Settings.from_env())


@worker_process_init.connect
def _warm_kernels(**_kwargs):
    """Each pool process loads the numba kernels once, in a thread, so it reports itself up at once:
    the pool kills a child that takes more than a few seconds to start (worker_proc_alive_timeout),
    and after a fresh clone the warm-up waits minutes for `dashapp warmup` to compile them
    (dashapp/warmup.py). A task that needs a kernel meanwhile simply waits for it."""
    from dashapp.warmup import warm_in_background

    warm_in_background()
