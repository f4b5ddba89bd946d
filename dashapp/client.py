"""A small Python client for the cockpit's REST API, used by the paper engine and by any engine.

    client = CockpitClient("http://127.0.0.1:8050", token="tdc_...", engine_id="paper-1")
    client.send("orders", [...])          # batched, retried on connection errors, 5xx and 429
    client.heartbeat(status="running", stage="signals")
    client.control()                       # desired state + kill switch, for the engine loop
    client.recovery()                      # what the store holds of this engine, to resume after a restart

Two kinds of failure, told apart so a caller can act on them:
- `CockpitUnavailable` (a `requests.RequestException`): the cockpit could not take the request now
  (no connection, a timeout, 5xx, 408/425/429). Retry later; `retry_after` carries the server's
  Retry-After in seconds when it sent one.
- `IngestRefused`: any other 4xx. The request itself is wrong (a validation error names the item and
  field in `body["details"]`); sending it again gets the same answer.
"""
from __future__ import annotations

import random
import time
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime

import requests

TRANSIENT_4XX = (408, 425, 429)  # the server is busy or slow, not the request wrong


class IngestRefused(Exception):
    def __init__(self, status: int, body: dict):
        super().__init__(f"{status}: {body.get('message', body)}")
        self.status = status
        self.body = body


class CockpitUnavailable(requests.RequestException):
    """The cockpit did not take the request this time; the same request may succeed later."""

    def __init__(self, message: str, status: int | None = None, retry_after: float | None = None):
        super().__init__(message)
        self.status = status
        self.retry_after = retry_after


class CockpitClient:
    def __init__(self, base_url: str, token: str, engine_id: str, timeout: float = 10.0, retries: int = 3,
                 batch_size: int = 5000):
        self.base_url = base_url.rstrip("/")
        self.engine_id = engine_id
        self.timeout = timeout
        self.retries = retries
        self.batch_size = batch_size
        self.session = requests.Session()
        self.session.headers.update({"Authorization": f"Bearer {token}", "User-Agent": "cockpit-client/1"})

    def request_once(self, method: str, path: str, **kwargs) -> dict:
        """One attempt: the JSON answer, or `CockpitUnavailable` / `IngestRefused`. Never an HTTP
        error of another type, so a caller's `except` clauses are the whole story."""
        try:
            response = self.session.request(method, self.base_url + path, timeout=self.timeout, **kwargs)
        except requests.RequestException as exc:  # connection refused/reset, timeout, broken chunked body
            raise CockpitUnavailable(f"{method} {path}: {exc}") from exc
        if response.status_code < 400:
            try:
                return response.json()
            except ValueError as exc:  # a proxy's HTML page with a 200: not the cockpit answering
                raise CockpitUnavailable(f"{method} {path}: answer is not JSON", response.status_code) from exc
        if response.status_code >= 500 or response.status_code in TRANSIENT_4XX:
            raise CockpitUnavailable(f"{method} {path}: HTTP {response.status_code}", response.status_code,
                                     retry_after_seconds(response.headers.get("Retry-After")))
        raise IngestRefused(response.status_code, _json(response))

    def _request(self, method: str, path: str, **kwargs) -> dict:
        """`request_once` retried a few times (exponential backoff with jitter, at least the
        server's Retry-After); the last `CockpitUnavailable` is raised when all attempts failed."""
        for attempt in range(self.retries + 1):
            try:
                return self.request_once(method, path, **kwargs)
            except CockpitUnavailable as exc:
                if attempt == self.retries:
                    raise
                time.sleep(max(exc.retry_after or 0.0, random.uniform(0, min(0.2 * 2 ** attempt, 5.0))))
        raise AssertionError("the loop returns or raises")

    def send(self, kind: str, items: list[dict]) -> dict:
        """Send items in batches; returns the summed counts."""
        totals = {"received": 0, "stored": 0, "updated": 0, "duplicates": 0}
        for start in range(0, len(items), self.batch_size):
            result = self.post_batch(kind, items[start:start + self.batch_size], retry=True)
            for key in totals:
                totals[key] += result.get(key, 0)
        return totals

    def post_batch(self, kind: str, items: list[dict], retry: bool = False) -> dict:
        """One ingest request (at most `batch_size` items are the caller's business)."""
        call = self._request if retry else self.request_once
        return call("POST", f"/api/v1/ingest/{kind}", json={"engine_id": self.engine_id, "items": items})

    def heartbeat(self, status: str, stage: str = "", version: str = "", pid: int | None = None,
                  started_at: datetime | None = None, detail: dict | None = None) -> dict:
        item = {"status": status, "stage": stage, "version": version, "pid": pid,
                "heartbeat_at": now_iso(), "detail": detail or {}}
        if started_at is not None:
            item["started_at"] = started_at.isoformat()
        return self.send("engine_state", [item])

    def control(self) -> dict:
        """What the cockpit wants of this engine: desired status, generation, kill switch."""
        return self._request("GET", f"/api/v1/engines/{self.engine_id}/control")

    def recovery(self) -> dict:
        """What the store holds of this engine: positions, cash, working orders, last prices, last
        sequence number (see `GET /api/v1/engines/<id>/recovery`)."""
        return self._request("GET", f"/api/v1/engines/{self.engine_id}/recovery")


def retry_after_seconds(value: str | None, now: datetime | None = None) -> float | None:
    """Retry-After as seconds: either delta-seconds or an HTTP date (RFC 9110 10.2.3); None when
    absent or unreadable. Capped at an hour: a typo on the server must not park an engine for days."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=timezone.utc)
        seconds = (when - (now or datetime.now(timezone.utc))).total_seconds()
    if seconds != seconds:  # NaN
        return None
    return min(max(seconds, 0.0), 3600.0)


def now_iso() -> str:
    return datetime.now(timezone.utc).isoformat()


def _json(response) -> dict:
    try:
        body = response.json()
    except ValueError:
        return {"message": response.text[:500]}
    return body if isinstance(body, dict) else {"message": str(body)[:500]}
