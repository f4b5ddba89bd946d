"""Time to content of every page on full loads in headless Chromium (issue 10, item 5).

    .venv/bin/python benchmarks/bench_page_loads.py        # writes its section of docs/BENCHMARKS.md
    LOADS=5 .venv/bin/python benchmarks/bench_page_loads.py  # quicker

What runs is what `make run` runs: the web process under Gunicorn (`dashapp web`) on a scratch SQLite
database with the demo's reference data, and one headless Chromium signed in as an admin (who may
open every page). Each page is loaded LOADS times by a full navigation (`driver.get`), cold (the
browser cache disabled through the DevTools protocol, so every bundle comes from the server) and warm
(cache on, as a desk's browser is). The clock is the page's own: from navigation start
(`performance.timeOrigin`) to the moment the page's own element is in the document and, for pages
with charts, the first chart is drawn (a `.main-svg` inside a `dcc.Graph`). Targets: worst < 3 s,
median < 1 s, no load over 10 s.
"""
from __future__ import annotations

import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks._common import machine, scratch_app, write_section  # noqa: E402
from benchmarks.bench_propagation import PASSWORD, browser, free_port, start_web  # noqa: E402

LOADS = int(os.environ.get("LOADS", "20"))
TIMEOUT_S = 60
# path -> (what proves the page's content is there, needs a drawn chart)
PAGES = {
    "/": ("cc-tiles", True), "/trading": ("tr-blotter", False), "/execution": ("page-body", False),
    "/risk": ("rk-summary", True), "/jobs": ("jobs-grid", False), "/backtests": ("page-backtests", False),
    "/exports": ("page-body", False), "/reports": ("page-body", False), "/audit": ("audit-grid", False),
    "/admin": ("admin-users-grid", False),
}
CONTENT_JS = """
const el = document.getElementById(arguments[0]);
if (!el || !el.offsetHeight || !document.getElementById('shell-user')) { return null; }
if (document.querySelector('._dash-loading')) { return null; }
if (arguments[1] && !document.querySelector('.dash-graph .main-svg')) { return null; }
return performance.now();
"""


def prepare(server) -> None:
    from dashapp.services import users

    users.create_user("bench", "desk-admin", PASSWORD, "admin")


def login(driver, base: str) -> None:
    from selenium.webdriver.common.by import By

    driver.get(f"{base}/login")
    driver.find_element(By.ID, "username").send_keys("desk-admin")
    driver.find_element(By.ID, "password").send_keys(PASSWORD)
    driver.find_element(By.ID, "login-submit").click()
    _until(driver, "return document.getElementById('shell-user') !== null", TIMEOUT_S)


def _until(driver, script: str, timeout: float, *args):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = driver.execute_script(script, *args)
        if value:
            return value
        time.sleep(0.02)
    return None


def load_once(driver, base: str, path: str, element: str, chart: bool) -> float:
    """Seconds from navigation start to content (TIMEOUT_S when it never came)."""
    driver.get(f"{base}{path}")
    stamp = _until(driver, CONTENT_JS, TIMEOUT_S, element, chart)
    return (stamp / 1000.0) if stamp else float(TIMEOUT_S)


def measure(base: str) -> dict:
    driver = browser()
    try:
        login(driver, base)
        results = {}
        for mode in ("cold", "warm"):
            driver.execute_cdp_cmd("Network.setCacheDisabled", {"cacheDisabled": mode == "cold"})
            for path, (element, chart) in PAGES.items():
                load_once(driver, base, path, element, chart)  # the first visit fills caches on both sides
                results[(mode, path)] = [load_once(driver, base, path, element, chart) for _ in range(LOADS)]
        return results
    finally:
        driver.quit()


def table(results: dict) -> str:
    lines = ["| Page | Cold median (s) | Cold worst (s) | Warm median (s) | Warm worst (s) | Loads > 10 s |",
             "| --- | ---: | ---: | ---: | ---: | ---: |"]
    for path in PAGES:
        cold, warm = results[("cold", path)], results[("warm", path)]
        slow = sum(t > 10 for t in cold + warm)
        lines.append(f"| `{path}` | {statistics.median(cold):.2f} | {max(cold):.2f} | {statistics.median(warm):.2f} | "
                     f"{max(warm):.2f} | {slow} |")
    every = [t for times in results.values() for t in times]
    warm = [t for (mode, _), times in results.items() if mode == "warm" for t in times]
    lines.append("")
    lines.append(f"All loads: {len(every)}; warm median {statistics.median(warm):.2f} s, warm worst {max(warm):.2f} s, "
                 f"overall worst {max(every):.2f} s, over 10 s: {sum(t > 10 for t in every)}.")
    return "\n".join(lines)


def main() -> None:
    port = free_port()
    with scratch_app("sqlite") as server:
        prepare(server)
        settings = server.config["COCKPIT_SETTINGS"]
        proc = start_web(settings, port, None)
        try:
            results = measure(f"http://127.0.0.1:{port}")
        finally:
            proc.terminate()
            proc.wait(20)
    body = (f"{machine()}. `dashapp web` (Gunicorn gthread) on SQLite, one headless Chromium signed in as an "
            f"admin; {LOADS} full loads per page, cold (cache disabled) and warm. Time to content = navigation "
            "start to the page's own element drawn (and its first chart, where it has one). Targets: worst "
            "< 3 s, median < 1 s, 0 loads over 10 s.\n\n" + table(results))
    print(body)
    write_section("Page loads (time to content)", body)


if __name__ == "__main__":
    main()
