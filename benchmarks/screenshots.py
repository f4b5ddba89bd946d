"""Screenshots of every page, dark and light, for docs/screenshots/ (linked from the README).

Starts the cockpit in-process on a scratch SQLite file with a small trading book (orders, fills,
quotes, a year of bars), signs in as an admin (who may open every page) and captures each PageSpec
in headless Chromium: 1366x768 for every page, 1920x1080 for the three pages a desk keeps open.
PNGs are palette-quantised so the folder stays a few MB.

    .venv/bin/python benchmarks/screenshots.py [--out docs/screenshots] [--pages /,/trading]
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import threading
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

SIZES = {"1366": (1366, 768), "1920": (1920, 1080)}
WIDE_PAGES = {"/", "/trading", "/risk"}
# Pages with tabs: each tab after the first is captured too (clicked by its label), as <key>-<tab>-<mode>.
PAGE_TABS = {"/alerts": ("History", "Incidents", "Rules", "Notifications")}
PASSWORD = "Screen-Shots-2026!"


def seed_book() -> None:
    from dashapp.services.ingest import ingest_batch
    from tests.support.trading import REFERENCE, fill, order

    for kind, items in REFERENCE.items():
        ingest_batch(kind, "paper-1", items)
    rng = np.random.default_rng(3)
    orders = [order(f"o-{i}", side="buy" if i % 3 else "sell", qty=float(100 + 10 * i), minutes=i * 2,
                    status="filled" if i % 4 else "new", filled_quantity=float(100 + 10 * i) if i % 4 else 0.0,
                    avg_fill_price=190.0 + rng.normal(0, 0.2) if i % 4 else None)
              for i in range(40)]
    ingest_batch("orders", "paper-1", orders)
    ingest_batch("fills", "paper-1", [fill(f"f-{i}", f"o-{i}", float(100 + 10 * i), 190.0 + rng.normal(0, 0.2),
                                           minutes=i * 2 + 0.5) for i in range(40) if i % 4])
    now = datetime.now(timezone.utc)
    ingest_batch("quotes", "paper-1", [{"instrument": s, "ts": now.isoformat(), "bid": p - 0.05, "ask": p + 0.05}
                                       for s, p in (("AAPL", 190.0), ("XOM", 50.0))])
    bars, start = [], now - timedelta(days=400)
    for symbol, price in (("AAPL", 150.0), ("XOM", 40.0)):
        for d in range(300):
            new = price * (1 + rng.normal(0.0003, 0.015))
            bars.append({"instrument": symbol, "interval": "1d", "ts": (start + timedelta(days=d)).isoformat(),
                         "open": price, "high": max(price, new), "low": min(price, new), "close": new})
            price = new
    ingest_batch("bars", "paper-1", bars)


def start_app(folder: Path):
    from werkzeug.serving import make_server

    from dashapp import create_app
    from dashapp.extensions import db
    from dashapp.services import users
    from tests.conftest import make_settings, upgrade_database

    app = create_app(make_settings(folder, f"sqlite:///{folder / 'screens.sqlite'}"))
    upgrade_database(app.server)
    from dashapp.observability import configure_logging

    # Alembic's env.py (fileConfig) replaced the root log handlers: put the app's back (Logs page).
    configure_logging("INFO", app.server.config["COCKPIT_SETTINGS"].instance_dir)
    with app.server.app_context():
        users.create_user("screens", "desk-admin", PASSWORD, "admin", "Desk Admin")
        seed_book()
        from dashapp.services.alerts import builtin_rules
        from tests.support.alerts import seed_screenshot_alerts

        builtin_rules.ensure_builtin_rules()
        seed_screenshot_alerts()  # the Alerts page's tabs have something to show
        from dashapp.services.models import seed as models_seed

        models_seed.seed_demo_model("screens")  # the Models page: a champion, its gates, shadow, drift
        from tests.support.governance import seed_screenshot_governance
        seed_screenshot_governance()  # the Approvals and Security pages: requests, sign-ins, review queue
        from tests.support.governance_data import seed_screenshot_compliance
        seed_screenshot_compliance()  # the Compliance page: report runs with files, a legal hold, a retention run
        from tests.support.ops import seed_screenshot_ops
        seed_screenshot_ops(app.server)  # Operations: live heartbeats, a silent worker, task runs, a day of SLO samples
        db.session.remove()
    server = make_server("127.0.0.1", 0, app.server, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return app, server, f"http://127.0.0.1:{server.server_port}"


def browser():
    from selenium import webdriver

    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                 "--hide-scrollbars", "--force-device-scale-factor=1"):
        options.add_argument(flag)
    return webdriver.Chrome(options=options)


def wait(driver, condition, timeout: float = 60.0) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if driver.execute_script(condition):
            return True
        time.sleep(0.25)
    return False


SETTLED = """
    if (document.querySelector('._dash-loading, .dash-spinner')) { return false; }
    if (!document.querySelector('#page-body') || document.body.innerText.includes('Loading...')) { return false; }
    const graphs = [...document.querySelectorAll('.dash-graph')];
    return graphs.every(g => g.querySelector('.main-svg') && !g.classList.contains('dash-graph--pending'));
"""


def login(driver, base: str) -> None:
    driver.get(base + "/login")
    driver.find_element("id", "username").send_keys("desk-admin")
    driver.find_element("id", "password").send_keys(PASSWORD)
    driver.find_element("id", "login-submit").click()
    wait(driver, "return !!document.querySelector('#shell-user');")


def set_theme(driver, dark: bool) -> None:
    switch = driver.find_element("id", "shell-theme-switch")
    if switch.is_selected() != dark:
        driver.execute_script("arguments[0].click();", switch)
    wait(driver, f"return document.documentElement.getAttribute('data-bs-theme') === '{'dark' if dark else 'light'}';")


def optimise(path: Path) -> None:
    from PIL import Image

    with Image.open(path) as image:
        image.convert("RGB").quantize(colors=256, method=Image.Quantize.MEDIANCUT).save(path, optimize=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(ROOT / "docs" / "screenshots"))
    parser.add_argument("--pages", default="", help="comma-separated paths (default: every page)")
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    from dashapp.pages import PAGES

    wanted = [p for p in PAGES if not args.pages or p.path in args.pages.split(",")]
    with tempfile.TemporaryDirectory() as scratch:
        app, server, base = start_app(Path(scratch))
        driver = browser()
        try:
            login(driver, base)
            for mode in ("dark", "light"):
                for page in wanted:
                    for size, (width, height) in SIZES.items():
                        if size == "1920" and page.path not in WIDE_PAGES:
                            continue
                        driver.set_window_size(width, height)
                        driver.get(base + page.path)
                        wait(driver, "return !!document.querySelector('#shell-theme-switch');")
                        set_theme(driver, mode == "dark")
                        settled = wait(driver, SETTLED, 60)
                        time.sleep(1.0)  # let the grids' and charts' last frame paint (a picture, not a test)
                        path = out / f"{page.key}-{mode}-{size}.png"
                        driver.save_screenshot(str(path))
                        optimise(path)
                        print(f"{path.name}{'' if settled else ' (not settled after 60 s)'}", flush=True)
                        for tab in PAGE_TABS.get(page.path, ()) if size == "1366" else ():
                            driver.execute_script("""[...document.querySelectorAll('.nav-tabs .nav-link')]
                                .find(a => a.innerText.trim() === arguments[0]).click();""", tab)
                            wait(driver, SETTLED, 30)
                            time.sleep(1.5)
                            path = out / f"{page.key}-{tab.lower()}-{mode}-{size}.png"
                            driver.save_screenshot(str(path))
                            optimise(path)
                            print(path.name, flush=True)
        finally:
            driver.quit()
            server.shutdown()


if __name__ == "__main__":
    main()
