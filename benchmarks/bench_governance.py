"""What governance adds to a request, on SQLite and PostgreSQL: the per-request session check (one
primary-key read; last_seen written at most once a minute), a TOTP verification (decrypt, match, one
conditional UPDATE, an audit record) and the worst recovery-code check (argon2 against every unused
hash). Prints a markdown table to append to docs/BENCHMARKS.md.

    .venv/bin/python benchmarks/bench_governance.py
"""
from __future__ import annotations

import os
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._common import machine, scratch_app  # noqa: E402

N_CHECKS = 2000


def _ms(samples: list[float]) -> str:
    return f"{statistics.median(samples) * 1000:.3f}"


def run(backend: str) -> list[str]:
    import pyotp

    from dashapp.services import mfa, sessions, users
    from models import utcnow

    with scratch_app(backend) as server:
        with server.test_request_context():
            user = users.create_user("bench", "bench-risk", "Bench-Governance-2026!", "risk")
            sid = sessions.start(user, "127.0.0.1", "bench")
            checks = []
            for _ in range(N_CHECKS):
                start = time.perf_counter()
                assert sessions.check(sid, user.id)
                checks.append(time.perf_counter() - start)
            secret = mfa.begin_enrolment(user).secret
            first = utcnow() - timedelta(minutes=30)
            codes = mfa.confirm_enrolment(user, pyotp.TOTP(secret).at(first), at=first)
            totp = []
            for i in range(20):  # 20 consecutive steps, each once (a replay would be refused)
                at = first + timedelta(seconds=30 * (i + 1))
                start = time.perf_counter()
                mfa.verify(user, pyotp.TOTP(secret).at(at), session_id=sid, at=at)
                totp.append(time.perf_counter() - start)
            start = time.perf_counter()
            mfa.verify(user, codes[-1], session_id=sid)  # the last of ten unused hashes: the worst case
            recovery = time.perf_counter() - start
    return [backend, _ms(checks), _ms(totp), f"{recovery * 1000:.0f}"]


def main() -> None:
    rows = [run("sqlite"), run("postgresql")]
    load = os.getloadavg()[0]
    print(f"Machine: {machine()}; load average at start {load:.1f}.\n")
    print("| database | session check per request (ms, median of 2000) | TOTP verify (ms, median of 20) "
          "| recovery code, worst case (ms) |")
    print("| --- | ---: | ---: | ---: |")
    for row in rows:
        print("| " + " | ".join(row) + " |")


if __name__ == "__main__":
    main()
