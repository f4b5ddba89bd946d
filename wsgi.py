"""What Gunicorn serves: `gunicorn wsgi:app`."""
from dashapp import create_app
from dashapp.ops_web import start_heartbeat
from dashapp.warmup import warm_in_background

app = create_app().server
start_heartbeat(app)  # this process's row on the Operations page, and its batched SLO counts
# Load the numba kernels beside the first requests instead of inside one of them; the thread waits
# (without the GIL) while `dashapp warmup` compiles them after a fresh clone (dashapp/warmup.py).
warm_in_background()
