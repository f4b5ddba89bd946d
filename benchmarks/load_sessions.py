"""Load: N concurrent signed-in desk sessions on the main pages, one engine ingesting, a control
loop, 100 live streams from one user and /healthz probes, against the real web process (issue 9).

    .venv/bin/python benchmarks/load_sessions.py                      # 50 and 200 sessions, 60 s each
    .venv/bin/python benchmarks/load_sessions.py --sessions 10 --seconds 20 --no-write   # a quick proof

What runs: `dashapp web` (Gunicorn gthread, as `dashapp up` starts it) on a private PostgreSQL schema
and Redis under a private key prefix when both answer (else SQLite and the in-process bus). Each
session replays what a browser sends on its page's interval tick: the bodies are built from the
app's own /_dash-dependencies and the page's rendered layout (the values its components hold), for
every server callback fired by the page's interval. Sessions spread over the Command Center, Trading
and Risk and wait the page's interval (with jitter) between ticks, as a browser does. Beside them:
one engine posting an order batch twice a second, one trader stopping/starting the engine through
the API once a second (idempotency keys), one user opening 100 live streams (the cap refuses all
but a few; they must not starve the rest), and a /healthz probe five times a second.

Sign-in is argon2 by design (~0.7 s of CPU each), so the sessions share the cookies of up to 20
sign-ins: to the server a copied signed cookie is one more session (nothing per session is stored).
Reported per class: requests, p50/p95/p99 ms, refused with 503 (busy), errors (anything else not
2xx). Targets at 50 sessions: page callbacks p95 < 300 ms, control p95 < 200 ms, /healthz < 100 ms.
"""
from __future__ import annotations

import argparse
import os
import random
import re
import subprocess
import sys
import threading
import time
import uuid
from collections import defaultdict
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import requests

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from benchmarks._common import start_web as launch_web, ROOT, machine, scratch_app, write_section  # noqa: E402
from benchmarks.bench_propagation import REDIS_URL, free_port, prepare, redis_reachable  # noqa: E402

PASSWORD = "Bench-Pass-4821!"
PAGES = {"/": 3.0, "/trading": 5.0, "/risk": 5.0}  # path -> seconds between ticks (/ is the Command Center)
SIGN_INS = 20
STREAMS = 100
RELIABILITY_MD = ROOT / "docs" / "RELIABILITY.md"


class Recorder:
    def __init__(self):
        self.samples: dict[str, list[float]] = defaultdict(list)
        self.busy: dict[str, int] = defaultdict(int)
        self.errors: dict[str, int] = defaultdict(int)
        self.error_examples: dict[str, str] = {}
        self._lock = threading.Lock()

    def timed(self, kind: str, call, ok=(200,)):
        start = time.perf_counter()
        try:
            response = call()
            status, detail = response.status_code, response.text[:120] if response.status_code not in ok else ""
        except requests.RequestException as exc:
            response, status, detail = None, 0, str(exc)[:120]
        elapsed = (time.perf_counter() - start) * 1000
        with self._lock:
            self.samples[kind].append(elapsed)
            if status == 503:
                self.busy[kind] += 1
            elif status not in ok:
                self.errors[kind] += 1
                self.error_examples.setdefault(kind, f"{status} {detail}")
        return response


def start_web(settings, port: int, redis_url: str | None, prefix: str, threads: int) -> subprocess.Popen:
    env = {**os.environ, "DATABASE_URL": settings.database_url, "COCKPIT_INSTANCE_DIR": str(settings.instance_dir),
           "SECRET_KEY": settings.secret_key, "PORT": str(port), "REDIS_URL": redis_url or "",
           "COCKPIT_REDIS_KEY_PREFIX": prefix, "COCKPIT_ENV": "dev", "LOG_LEVEL": "WARNING",
           "WEB_THREADS": str(threads), "COCKPIT_LOGIN_RATE_PER_ADDRESS": "10000 per minute"}
    return launch_web(["--threads", str(threads)], env, settings.instance_dir, port, timeout=120)


def sign_in(base: str, username: str) -> requests.Session:
    session = requests.Session()
    token = re.search(r'name="csrf_token" value="([^"]+)"', session.get(f"{base}/login", timeout=30).text).group(1)
    response = session.post(f"{base}/login", data={"username": username, "password": PASSWORD, "csrf_token": token},
                            allow_redirects=False, timeout=60)
    if response.status_code != 302:
        raise RuntimeError(f"sign-in of {username} failed: {response.status_code} {response.text[:200]}")
    session.get(f"{base}/", timeout=30)  # the CSRF cookie
    return session


def _walk(node, found: dict) -> None:
    """Collect {component id: props} from a Dash component tree (JSON)."""
    if isinstance(node, list):
        for item in node:
            _walk(item, found)
    elif isinstance(node, dict):
        props = node.get("props") if "props" in node and "type" in node else None
        if props is not None and isinstance(props.get("id"), str):
            found[props["id"]] = props
        for value in (props if props is not None else node).values():
            _walk(value, found)


def _callback_post(session: requests.Session, base: str, body: dict, timeout: float = 60):
    return session.post(f"{base}/_dash-update-component", json=body, timeout=timeout,
                        headers={"X-CSRFToken": session.cookies.get("_csrf_token", "")})


def _body(dep: dict, props: dict) -> dict:
    def item(spec, property_value=None):
        value = props.get(spec["id"], {}).get(spec["property"]) if property_value is None else property_value
        return {"id": spec["id"], "property": spec["property"], "value": value}

    outputs = [{"id": o.split(".")[0], "property": o.split(".")[1]} for o in dep["output"].strip(".").split("...")]
    inputs = [item(spec, 1 if spec["property"] == "n_intervals" else None) for spec in dep["inputs"]]
    return {"output": dep["output"], "outputs": outputs if len(outputs) > 1 else outputs[0], "inputs": inputs,
            "state": [item(spec) for spec in dep.get("state", [])],
            "changedPropIds": [f"{i['id']}.{i['property']}" for i in inputs if i["property"] == "n_intervals"]}


def tick_bodies(session: requests.Session, base: str) -> dict[str, list[dict]]:
    """For each page: the bodies its browser sends on an interval tick, from the app's own
    dependencies and the page's rendered layout."""
    deps = session.get(f"{base}/_dash-dependencies", timeout=60).json()
    shell: dict = {}
    _walk(session.get(f"{base}/_dash-layout", timeout=60).json(), shell)
    router = next(d for d in deps if "_pages_content.children" in d["output"])
    bodies = {}
    for path in PAGES:
        props = dict(shell)
        props.setdefault("_pages_location", {}).update(pathname=path, search="")
        page = _callback_post(session, base, _body(router, props)).json()
        if "Page not found" in str(page)[:2000]:
            raise RuntimeError(f"{path} is not a page of this cockpit")
        _walk(page.get("response", {}), props)
        intervals = {cid for cid, p in props.items() if "n_intervals" in p or cid.endswith("interval")}
        bodies[path] = [
            _body(dep, props) for dep in deps
            if not dep.get("clientside_function") and "_pages_content" not in dep["output"]
            and all(isinstance(s["id"], str) and s["id"] in props for s in dep["inputs"] + dep.get("state", []))
            and any(s["id"] in intervals and s["property"] == "n_intervals" for s in dep["inputs"])]
    return bodies


def run_load(base: str, secret: str, sessions: int, seconds: float) -> tuple[Recorder, dict]:
    rec, stop = Recorder(), threading.Event()
    cookies = [sign_in(base, f"viewer-{i}").cookies for i in range(min(sessions, SIGN_INS))]
    bodies = tick_bodies(sign_in(base, "viewer-0"), base)
    trader = sign_in(base, "desk-trader")
    facts = {"callbacks per tick": {p: len(b) for p, b in bodies.items()}}
    if not all(facts["callbacks per tick"].values()):
        raise RuntimeError(f"no interval callbacks found for a page: {facts}")

    def session_loop(n: int):
        session = requests.Session()
        session.cookies.update(cookies[n % len(cookies)])
        path = list(PAGES)[n % len(PAGES)]
        time.sleep(random.uniform(0, PAGES[path]))  # browsers do not tick in step
        while not stop.is_set():
            for body in bodies[path]:
                rec.timed(f"page {path}", lambda body=body: _callback_post(session, base, body))
            stop.wait(PAGES[path] * random.uniform(0.9, 1.1))

    def engine_loop():
        api = requests.Session()
        api.headers["Authorization"] = f"Bearer {secret}"
        n = 0
        while not stop.is_set():
            items = [{"client_order_id": f"load-{n}-{k}-{uuid.uuid4().hex[:6]}", "strategy": "S1", "instrument": "SYM1",
                      "venue": "V1", "side": "buy", "quantity": 100, "status": "new",
                      "created_at": datetime.now(timezone.utc).isoformat(), "arrival_mid": 100.0} for k in range(20)]
            rec.timed("ingest (20 orders)", lambda: api.post(f"{base}/api/v1/ingest/orders", timeout=60,
                                                             json={"engine_id": "bench", "items": items}))
            n += 1
            stop.wait(0.5)

    def control_loop():
        api = requests.Session()
        api.headers["Authorization"] = f"Bearer {secret}"
        n = 0
        while not stop.is_set():
            action = ("stop", "start")[n % 2]
            rec.timed("control (engine stop/start)", lambda: api.post(
                f"{base}/api/v1/engines/bench/{action}", json={"reason": "load benchmark"}, timeout=60,
                headers={"Idempotency-Key": uuid.uuid4().hex}))
            n += 1
            stop.wait(1.0)

    def probe_loop():
        while not stop.is_set():
            rec.timed("/healthz", lambda: requests.get(f"{base}/healthz", timeout=60))
            stop.wait(0.2)

    streams = []
    for _ in range(STREAMS):  # one user, many tabs without a shared stream (or a misbehaving script)
        response = rec.timed("stream open", lambda: trader.get(f"{base}/events/stream", stream=True, timeout=30),
                             ok=(200, 429))
        if response is not None:
            if response.status_code != 200:
                response.close()  # a refusal's connection is not kept
            streams.append(response)
    facts["streams from one user"] = {status: sum(1 for r in streams if r.status_code == status)
                                      for status in sorted({r.status_code for r in streams})}
    threads = [threading.Thread(target=session_loop, args=(n,), daemon=True) for n in range(sessions)]
    threads += [threading.Thread(target=fn, daemon=True) for fn in (engine_loop, control_loop, probe_loop)]
    for thread in threads:
        thread.start()
    time.sleep(seconds)
    stop.set()
    for thread in threads:
        thread.join(timeout=90)  # bounded: each call has its own timeout
    for response in streams:
        response.close()
    return rec, facts


def table(rec: Recorder) -> list[str]:
    rows = []
    for kind in sorted(rec.samples):
        ms = np.array(rec.samples[kind])
        rows.append(f"| {kind} | {len(ms)} | {np.percentile(ms, 50):.0f} | {np.percentile(ms, 95):.0f} | "
                    f"{np.percentile(ms, 99):.0f} | {rec.busy[kind]} | {rec.errors[kind]} |")
    return rows


def verdicts(rec: Recorder) -> list[str]:
    def p95(prefix):
        ms = [x for kind, xs in rec.samples.items() if kind.startswith(prefix) for x in xs]
        return float(np.percentile(ms, 95)) if ms else float("nan")

    page, control, probe = p95("page "), p95("control"), p95("/healthz")
    return [f"page callbacks p95 {page:.0f} ms (target < 300): {'met' if page < 300 else 'NOT met'}",
            f"control p95 {control:.0f} ms (target < 200): {'met' if control < 200 else 'NOT met'}",
            f"/healthz p95 {probe:.0f} ms with {STREAMS} streams open (target < 100): "
            f"{'met' if probe < 100 else 'NOT met'}"]


def run_setup(backend: str, redis_url: str | None, sessions_list: list[int], seconds: float, threads: int):
    results = []
    with scratch_app(backend) as server:
        from dashapp.services import users

        secret = prepare(server)
        for i in range(max(sessions_list)):
            if i < SIGN_INS:
                users.create_user("bench", f"viewer-{i}", PASSWORD, "viewer")
        prefix = f"bench-{uuid.uuid4().hex[:8]}:"
        settings = server.config["COCKPIT_SETTINGS"]
        port = free_port()
        web = start_web(settings, port, redis_url, prefix, threads)
        try:
            for sessions in sessions_list:
                rec, facts = run_load(f"http://127.0.0.1:{port}", secret, sessions, seconds)
                results.append((sessions, rec, facts))
                print(f"\n{backend}, {sessions} sessions, {seconds:.0f} s: {facts}", flush=True)
                for line in table(rec) + verdicts(rec):
                    print(line, flush=True)
                for kind, example in rec.error_examples.items():
                    print(f"  first error in {kind}: {example}", flush=True)
        finally:
            web.terminate()
            web.wait(timeout=60)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sessions", default="50,200", help="comma-separated session counts (default 50,200)")
    parser.add_argument("--seconds", type=float, default=60.0, help="duration of each run (default 60)")
    parser.add_argument("--threads", type=int, default=32, help="WEB_THREADS of the web process (default 32)")
    parser.add_argument("--no-write", action="store_true", help="print only; do not touch docs/")
    args = parser.parse_args()
    sessions_list = [int(x) for x in args.sessions.split(",")]
    if redis_reachable():
        backend, redis_url, bus = "postgresql", REDIS_URL, "Redis pub/sub"
    else:
        backend, redis_url, bus = "sqlite", None, "in-process bus (Redis did not answer)"
    results = run_setup(backend, redis_url, sessions_list, args.seconds, args.threads)
    if args.no_write:
        return
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    # The figures need 50 and 200 sessions for at least 45 s each; anything less is a proof run.
    full = {50, 200} <= set(sessions_list) and args.seconds >= 45
    note = "" if full else (
        "\n*A small proof run. The issue's figures: `.venv/bin/python benchmarks/load_sessions.py` "
        "(50 and 200 sessions, 60 s each) on a quiet machine.*\n")
    parts = []
    for sessions, rec, facts in results:
        parts.append(f"""**{sessions} sessions**, {args.seconds:.0f} s ({facts})

| class | requests | p50 ms | p95 ms | p99 ms | 503 busy | errors |
|---|---:|---:|---:|---:|---:|---:|
{chr(10).join(table(rec))}

{chr(10).join('- ' + v for v in verdicts(rec))}
""")
    body = f"""Measured by `benchmarks/load_sessions.py --sessions {args.sessions} --seconds {args.seconds:.0f}` on
{machine()} (load average at the end: {load}); {backend} + {bus}, one `dashapp web` process with
{args.threads} threads (page slots, stream caps and reserve from D37), client and server on the same 2 cores.
Sessions replay their page's interval-tick callbacks at the page's interval; beside them one engine
ingests 20 orders every 0.5 s, a trader stops/starts the engine through the API every second, one
user holds {STREAMS} stream requests open (the per-user cap admits a few, the rest are refused 429)
and /healthz is probed five times a second. "503 busy" are page requests refused at once by the
admission gate (the browser retries them after Retry-After); errors are anything else not 2xx.
{note}
{chr(10).join(parts)}"""
    write_section("Load: concurrent desk sessions (issue 9)", body)
    write_section("Capacity under load", body, target=RELIABILITY_MD)


if __name__ == "__main__":
    main()
