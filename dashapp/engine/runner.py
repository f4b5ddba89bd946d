"""The paper engine's main loop: market data -> signals -> risk gate -> routing -> reporting.

Every tick it asks the cockpit what it should do (desired state, restart generation, kill switch)
and reports what it did. A kill switch is honoured at once: working orders are canceled and every
new order is blocked, with the block recorded as a risk-gate decision.

Durability: on start the engine first delivers what its outbox kept from the last process, then
resumes from the store (`engine/recovery.py`: positions, prices, id sequence; orphaned working
orders canceled; a restart event). Every report goes through the outbox (`engine/outbox.py`),
written to disk before it is sent, so a cockpit that is down or answers 5xx/429 delays reports
but never loses them, and no HTTP or connection error ends the process."""
from __future__ import annotations

import logging
import os
import signal
import threading
import time
from dataclasses import dataclass
from datetime import date, datetime, timezone
from pathlib import Path

import numpy as np
import requests

from dashapp.client import CockpitClient, CockpitUnavailable, IngestRefused
from dashapp.engine import recovery, reporting
from dashapp.engine.book import PriceHistory, StrategyBook
from dashapp.engine.market import MarketSimulator, spread_for
from dashapp.engine.outbox import Backoff, ReportOutbox
from dashapp.engine.risk_gate import GateLimits, RateCounter, check
from dashapp.engine.router import Router, WorkingOrder
from dashapp.engine.strategies import MeanReversion, ModelFollower, Momentum, target_quantity
from dashapp.engine.universe import load_daily_closes, reference_data

log = logging.getLogger("cockpit.engine")
VERSION = "paper-1.0"
CONTROL_CHECKS_PER_TICK = 4  # the kill switch is seen within a quarter of a tick


@dataclass(frozen=True)
class EngineConfig:
    base_url: str
    token: str
    engine_id: str = "paper-1"
    tick_seconds: float = 1.0
    seed: int = 7
    instruments_per_tick: int = 4
    min_order_notional: float = 5_000.0
    send_history: bool = True  # the bundled daily bars, for risk (tests that need no VaR skip them)
    state_dir: Path | None = None  # the outbox and dead letters; None keeps them in memory (in-thread tests)
    model: str | None = None  # a registered model whose champion signal strategy "ML" follows (opt-in)


class PaperEngine:
    def __init__(self, config: EngineConfig, client: CockpitClient | None = None):
        self.config = config
        self.client = client or CockpitClient(config.base_url, config.token, config.engine_id)
        self.rng = np.random.default_rng(config.seed)
        self.closes = load_daily_closes()
        self.market = MarketSimulator(self.closes, seed=config.seed)
        self.router = Router(self.rng, config.engine_id)
        self.reference = reference_data(self.closes, date.today())
        self.instruments = {i["symbol"]: i for i in self.reference["instruments"]}
        self.multipliers = {s: float(i.get("multiplier", 1)) for s, i in self.instruments.items()}
        self.strategies = {"MOM": (Momentum(), StrategyBook("MOM", 5_000_000)),
                           "MR": (MeanReversion(), StrategyBook("MR", 3_000_000))}
        if config.model:  # docs/MODELS.md: the champion's signal, polled over REST like any engine would
            self.strategies["ML"] = (ModelFollower(self._model_signal, config.model), StrategyBook("ML", 2_000_000))
            self.reference["strategies"].append({"code": "ML", "name": f"Model {config.model}", "kind": "model",
                                                 "account": "PAPER", "allocation": 2_000_000,
                                                 "params": {"model": config.model}})
        self.history = PriceHistory()
        self.limits = GateLimits()
        self.rates = RateCounter()
        self.working: list[WorkingOrder] = []
        self.started_at = datetime.now(timezone.utc)
        self.generation: int | None = None
        self.stop_requested = False
        self.mids: dict[str, float] = {}
        self.prepared = False
        self.history_sent = False
        outbox_file = config.state_dir / "outbox.sqlite" if config.state_dir is not None else None
        self.outbox = ReportOutbox(outbox_file)
        self.recovered: dict | None = None  # the store's view this process resumed from
        self.last_detail: dict = {}

    # --- lifecycle -------------------------------------------------------------------------
    def prepare(self) -> None:
        """Work that needs no cockpit (run it while the web process starts): compile or load the
        option pricing kernel, which runs every tick (only that one: after a fresh clone all of
        them take minutes, and `dashapp up` fills the cache for the rest in the background), and
        prime the strategies' price history."""
        from dashapp.warmup import warm_pricing

        if self.prepared:
            return
        warm_pricing()  # not under the warm-up lock: the engine must not wait for every other kernel
        self._prime_history()
        self.prepared = True

    def bootstrap(self) -> bool:
        """Reference data, then what the last process left in the outbox, then the store's state:
        in that order, so the recovery reads a store that holds everything ever reported. Waits for
        the cockpit as long as it takes; False when asked to stop meanwhile.
        No heartbeat before the recovery read: a heartbeat replaces the stored state's detail, which
        holds where the last process left the simulated market."""
        self.prepare()
        if not self._until_done(lambda: [self.client.send(kind, items) for kind, items in self.reference.items()]):
            return False
        while self.outbox.pending() and not self.stop_requested:
            result = self.outbox.flush(self._post)
            if result.pending:
                time.sleep(min(max(result.waiting, 0.05), 1.0))
        if self.stop_requested:
            return False
        view = self._until_done(self.client.recovery)
        if not view:
            return False
        self.recovered = view
        self._send(recovery.resume(self, view, self.outbox.last_seq()))
        self._beat("starting", "bootstrap", self._detail(False))
        return True

    def _until_done(self, call):
        """`call()`'s result once the cockpit takes it (backoff between tries); None on a stop request."""
        backoff, failures = Backoff(base=0.5, cap=10.0), 0
        while not self.stop_requested:
            try:
                return call()
            except CockpitUnavailable as exc:
                failures += 1
                wait = backoff.delay(failures, exc.retry_after)
                log.warning("cockpit unavailable at start (%s): next try in %.1f s", exc, wait)
                deadline = time.monotonic() + wait
                while not self.stop_requested and time.monotonic() < deadline:
                    time.sleep(min(0.2, deadline - time.monotonic()))
        return None

    def _post(self, kind: str, items: list[dict]) -> dict:
        return self.client.post_batch(kind, items)

    def _detail(self, kill: bool) -> dict:
        # The book travels with the sequence number it is at, so a checker can compare it with the
        # store's positions once the store holds exactly that sequence (engine_recovery.book_difference).
        return {"sim_date": self.market.sim_date.isoformat(), "sim_step": self.market.step,
                "working_orders": len(self.working), "kill_switch": kill, "seq": self.router.last_seq,
                "outbox_pending": self.outbox.pending(), "book": recovery.book_digest(self)}

    def _beat(self, status: str, stage: str, detail: dict | None = None) -> None:
        """A heartbeat is the engine's current state, not history: one that cannot be sent is
        replaced by the next, never buffered. Each carries the latest detail (a heartbeat replaces
        the stored one, and the next start reads the simulated date and step from it)."""
        if detail is not None:
            self.last_detail = detail
        try:
            self.client.heartbeat(status, stage, VERSION, os.getpid(), self.started_at, detail=self.last_detail)
        except (requests.RequestException, IngestRefused) as exc:
            log.warning("heartbeat not delivered: %s", exc)

    def _send_history(self) -> None:
        """The bundled daily bars, for risk. Sent after the first tick (tens of thousands of bars
        take seconds to store), so the desk sees trading at once."""
        if self.config.send_history and not self.history_sent:
            self.client.send("bars", reporting.daily_bars(self.closes))
            self.history_sent = True

    def _prime_history(self) -> None:
        """Play the simulated tape forward as far as the longest strategy window before the first
        tick, so the strategies hold a view at once instead of trading only after that many ticks."""
        steps = max(max(getattr(strategy, "lookback", 0), getattr(strategy, "window", 0))
                    for strategy, _ in self.strategies.values()) + 1
        for _ in range(steps):
            self.history.add(self.market.advance())

    def run(self) -> int:
        if threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGTERM, lambda *_: setattr(self, "stop_requested", True))
            signal.signal(signal.SIGINT, lambda *_: setattr(self, "stop_requested", True))
        if not self.bootstrap():
            self._shutdown()
            return 0
        while not self.stop_requested:
            started = time.monotonic()
            try:
                # Without an answer the kill switch is unknown: no tick (no new orders) until there is.
                control = self.client.control()
                if self._must_exit(control):
                    break
                self.tick(control)
                self._send_history()
            except requests.RequestException as exc:
                log.warning("cockpit unreachable, retrying next tick: %s", exc)
                self.outbox.flush(self._post)
            except IngestRefused as exc:
                log.error("cockpit refused a request: %s %s", exc, str(exc.body.get("details", ""))[:300])
            self._sleep_watching_kill_switch(started)
        self._shutdown()
        return 0

    def _must_exit(self, control: dict) -> bool:
        if self.generation is None:
            self.generation = control["generation"]
        if control["desired"] == "stopped":
            log.info("desired state is stopped: exiting")
            return True
        if control["generation"] != self.generation:
            log.info("restart requested (generation %s): exiting for the supervisor", control["generation"])
            return True
        return False

    def _sleep_watching_kill_switch(self, started: float) -> None:
        step = self.config.tick_seconds / CONTROL_CHECKS_PER_TICK
        for _ in range(CONTROL_CHECKS_PER_TICK - 1):
            time.sleep(max(0.0, started + step - time.monotonic()))
            started += step
            if self.stop_requested or not self.working:
                continue
            try:
                if self.client.control()["kill_switch_active"]:
                    self._send(reporting.cancel_all(self, "kill switch"))
            except (requests.RequestException, IngestRefused):
                pass
        time.sleep(max(0.0, started + step - time.monotonic()))

    def _shutdown(self) -> None:
        """Cancel working orders (kept in the outbox if the cockpit does not take them now: the next
        start delivers them first) and report the stop."""
        self._send(reporting.cancel_all(self, "engine stopping"))
        if self.outbox.pending():
            log.warning("%d report batch(es) left in the outbox for the next start", self.outbox.pending())
        # The last word on where it stopped (the cancels above moved the sequence): the next start
        # resumes the market from it, and a checker compares this book with the store's.
        self._beat("stopped", "", self._detail(bool(self.last_detail.get("kill_switch"))))

    # --- one tick --------------------------------------------------------------------------
    def tick(self, control: dict) -> None:
        now = datetime.now(timezone.utc)
        batch = reporting.Batch()
        self._beat("running", "market_data")
        self._market_data(now, batch)
        kill = bool(control["kill_switch_active"])
        blocked = control.get("block_new_orders_reason") or ""
        if kill and self.working:
            batch.merge(reporting.cancel_all(self, "kill switch", send=False))
        self._age_working_orders(now, batch)
        for code, (strategy, book) in self.strategies.items():
            self._run_strategy(code, strategy, book, now, batch, kill, blocked)
        for code, (_, book) in self.strategies.items():
            batch.snapshots.append({"strategy": code, "ts": now.isoformat(), **book.marks(self.mids, self.multipliers)})
        self._send(batch)
        self._beat("running", "idle", self._detail(kill))

    def _market_data(self, now: datetime, batch) -> None:
        mids = self.market.advance()
        mids.update(reporting.option_mids(self, mids))
        self.mids = mids
        self.history.add(mids)
        for symbol, mid in mids.items():
            inst = self.instruments.get(symbol)
            if inst is None:
                continue
            half = spread_for(symbol, mid, inst["asset_class"]) / 2
            batch.quotes.append({"instrument": symbol, "ts": now.isoformat(), "bid": round(mid - half, 6),
                                 "ask": round(mid + half, 6)})

    def _run_strategy(self, code, strategy, book, now, batch, kill: bool, blocked: str) -> None:
        tradable = getattr(strategy, "symbols", None) or [
            s for s, i in self.instruments.items() if i["asset_class"] in ("equity", "fx")]
        picks = self.rng.choice(len(tradable), size=min(self.config.instruments_per_tick, len(tradable)),
                                replace=False)
        budget = book.allocation / 25
        for index in picks:
            symbol = tradable[int(index)]
            sig = strategy.signal(self.history.prices[symbol])
            if sig is None:
                continue
            if book.last_signal.get(symbol) != sig.direction:
                book.last_signal[symbol] = sig.direction
                batch.signals.append({"signal_id": self.router.next_id("S"), "strategy": code, "instrument": symbol,
                                      "ts": now.isoformat(), "direction": sig.direction,
                                      "confidence": round(sig.confidence, 4)})
            mid = self.mids[symbol]
            lot = 1000.0 if self.instruments[symbol]["asset_class"] == "fx" else 1.0
            target = target_quantity(sig, budget, mid, lot)
            current = book.positions[symbol].quantity
            delta = target - current
            # Trade on a new view, not on every wiggle of the sizing: small rebalances are skipped.
            if abs(delta) * mid < self.config.min_order_notional or (
                    (target > 0) == (current > 0) and target != 0 and abs(delta) < 0.5 * abs(target)):
                continue
            self._gate_and_route(code, book, symbol, delta, mid, now, batch, kill, blocked)
            if sig.direction > 0 and symbol in ("AAPL", "MSFT", "XOM") and self.rng.random() < 0.3:
                reporting.maybe_trade_option(self, code, book, symbol, now, batch, kill, blocked)

    def _model_signal(self, name: str) -> dict | None:
        try:
            return self.client.request_once("GET", f"/api/v1/models/{name}/signal")
        except (CockpitUnavailable, IngestRefused) as exc:
            log.info("model %s: no signal (%s)", name, exc)
            return None

    def _gate_and_route(self, code, book, symbol, delta, mid, now, batch, kill, blocked) -> None:
        marks = book.marks(self.mids, self.multipliers)
        day_pnl = marks["equity"] - (book.day_start_equity or marks["equity"])
        position = book.positions[symbol].quantity
        decision = check(delta, mid * self.multipliers.get(symbol, 1.0), position,
                         self.rates.count(code, time.monotonic()), day_pnl, self.limits, kill, blocked)
        # An order id only for an order that is sent: every number handed out reaches the store.
        cid = self.router.next_id("P") if decision.decision != "block" else None
        batch.decisions.append(reporting.decision_item(self, decision, code, symbol, cid, delta, now))
        if decision.decision == "block":
            return
        self.rates.add(code, time.monotonic())
        qty = abs(decision.quantity)
        parent = {"client_order_id": cid, "strategy": code, "instrument": symbol, "side": "buy" if decision.quantity > 0
                  else "sell", "order_type": "market", "quantity": qty, "created_at": now.isoformat(),
                  "arrival_mid": mid, "filled_quantity": 0.0}
        inst = self.instruments[symbol]
        routed = self.router.route(parent, inst["asset_class"], mid, spread_for(symbol, mid, inst["asset_class"]), now)
        reporting.record_route(self, book, routed, symbol, batch)

    def _age_working_orders(self, now: datetime, batch) -> None:
        for work in list(self.working):
            if now < work.expires_at and self.rng.random() > 0.3:
                continue
            self.working.remove(work)  # before settling, so its parent sees no resting sibling in it
            batch.merge(reporting.finish_working(self, work, now))

    def _send(self, batch) -> None:
        """On disk first (with the id sequence reached), then delivered in order as far as the
        cockpit takes it now; the rest waits in the outbox for the next flush."""
        if self.outbox.append(batch.in_order(), last_seq=self.router.last_seq):
            self.outbox.flush(self._post)


def config_from_env(instance_dir) -> EngineConfig:
    token = os.environ.get("COCKPIT_ENGINE_TOKEN")
    token_file = instance_dir / "engine-token"
    if not token and token_file.exists():
        token = token_file.read_text().strip()
    if not token:
        raise SystemExit("no engine API token: set COCKPIT_ENGINE_TOKEN or run `dashapp demo` to create one")
    port = os.environ.get("PORT", "8050")
    return EngineConfig(base_url=os.environ.get("COCKPIT_URL", f"http://127.0.0.1:{port}"), token=token,
                        engine_id=os.environ.get("COCKPIT_ENGINE_ID", "paper-1"),
                        tick_seconds=float(os.environ.get("COCKPIT_ENGINE_TICK", "1.0")),
                        seed=int(os.environ.get("COCKPIT_ENGINE_SEED", "7")),
                        send_history=os.environ.get("COCKPIT_ENGINE_SEND_HISTORY", "1") != "0",
                        model=os.environ.get("COCKPIT_ENGINE_MODEL") or None,
                        state_dir=instance_dir / "engine" / os.environ.get("COCKPIT_ENGINE_ID", "paper-1"))
