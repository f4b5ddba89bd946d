"""Process-level set-up done once when ``dashapp.kernels`` is imported.

1. ``OMP_WAIT_POLICY=PASSIVE`` by default: idle OpenMP workers of numba's "omp"
   threading layer otherwise spin after each parallel kernel, stealing CPU from
   everything else in web/worker processes that share cores (an explicit
   setting by the operator wins). It must be set before numba's first parallel
   launch, which loads the layer.
2. Drop stale numba cache files when any kernel source changes.

numba's ``cache=True`` checks only the timestamp of the file that defines a
function, so editing a helper in ``_common_nb.py`` would leave callers in other
modules running their old cached machine code. We fingerprint every ``*_nb.py``
source file and clear this package's ``.nbi``/``.nbc`` files when the
fingerprint changes (cheap: a hash of ~100 KB, once per process).
"""

from __future__ import annotations

import hashlib
import logging
import os
from pathlib import Path

log = logging.getLogger(__name__)

_HERE = Path(__file__).resolve().parent
_STAMP = "kernels-source.sha256"


def invalidate_stale_cache() -> bool:
    """Remove cached kernels if sources changed since they were built; True if removed."""
    digest = hashlib.sha256()
    for path in sorted(_HERE.glob("*_nb.py")):  # wrappers are not compiled
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    fingerprint = digest.hexdigest()
    cache_dir = _HERE / "__pycache__"
    stamp = cache_dir / _STAMP
    try:
        if stamp.exists() and stamp.read_text().strip() == fingerprint:
            return False
        removed = 0
        for pattern in ("*.nbi", "*.nbc"):
            for path in cache_dir.glob(pattern):
                path.unlink(missing_ok=True)
                removed += 1
        cache_dir.mkdir(exist_ok=True)
        stamp.write_text(fingerprint)
    except OSError as exc:  # read-only install: numba falls back to its own cache dir
        log.debug("kernel cache guard skipped: %s", exc)
        return False
    if removed:
        log.info("kernel sources changed: removed %d stale numba cache files", removed)
    return removed > 0


os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
invalidate_stale_cache()
