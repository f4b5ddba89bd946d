"""A small Python client for the cockpit's REST API, used by the paper engine and by any engine.

    client = CockpitClient("http://127.0.0.1:8050", token="tdc_...", engine_id="paper-1")
    client.send("orders", [...])          # batched, retried on connection errors and 5xx
    client.heartbeat(status="running", stage="signals")
    client.control()                       # desired state + kill switch, for the engine loop

4xx answers are not retried: they mean the batch is wrong, and `IngestRefused` carries the
server's message and the per-item details.
"""
from __future__ import annotations

import time
from datetime import datetime, timezone

import requests


class IngestRefused(Exception):
    def __init__(self, status: int, body: dict):
        super().__init__(f"{status}: {body.get('message', body)}")
        self.status = status
        self.body = body


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

    def _request(self, method: str, path: str, **kwargs) -> dict:
        delay = 0.2
        for attempt in range(self.retries + 1):
            try:
                response = self.session.request(method, self.base_url + path, timeout=self.timeout, **kwargs)
            except requests.ConnectionError:
                if attempt == self.retries:
                    raise
            else:
                if response.status_code < 400:
                    return response.json()
                if response.status_code < 500:
                    raise IngestRefused(response.status_code, _json(response))
                if attempt == self.retries:
                    response.raise_for_status()
            time.sleep(delay)
            delay = min(delay * 2, 5.0)
        raise RuntimeError("unreachable")

    def send(self, kind: str, items: list[dict]) -> dict:
        """Send items in batches; returns the summed counts."""
        totals = {"received": 0, "stored": 0, "updated": 0, "duplicates": 0}
        for start in range(0, len(items), self.batch_size):
            chunk = items[start:start + self.batch_size]
            result = self._request("POST", f"/api/v1/ingest/{kind}", json={"engine_id": self.engine_id, "items": chunk})
            for key in totals:
                totals[key] += result.get(key, 0)
        return totals

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


def now_iso() -> str:
    return datetime.now(timezone.utc).isoformat()


def _json(response) -> dict:
    try:
        return response.json()
    except ValueError:
        return {"message": response.text[:500]}
