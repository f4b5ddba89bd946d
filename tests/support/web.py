"""Helpers to act as a logged-in person through Flask's test client."""
from __future__ import annotations

import re

PASSWORD = "Correct-Horse-9-Battery"


def csrf_from_login_page(client) -> str:
    page = client.get("/login").get_data(as_text=True)
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


def login(client, username: str, password: str = PASSWORD):
    token = csrf_from_login_page(client)
    return client.post("/login", data={"username": username, "password": password, "csrf_token": token})


def csrf_header(client) -> dict:
    cookie = client.get_cookie("_csrf_token")
    return {"X-CSRFToken": cookie.value} if cookie else {}


def call_callback(client, output: str, inputs: list[dict], state: list[dict] | None = None, triggered=None):
    """POST to /_dash-update-component the way Dash's renderer does."""
    outputs = [{"id": o.split(".")[0], "property": o.split(".")[1]} for o in output.strip(".").split("...")]
    body = {
        "output": output,
        "outputs": outputs if len(outputs) > 1 else outputs[0],
        "inputs": inputs,
        "state": state or [],
        "changedPropIds": triggered or [f"{i['id']}.{i['property']}" for i in inputs],
    }
    return client.post("/_dash-update-component", json=body, headers=csrf_header(client))
