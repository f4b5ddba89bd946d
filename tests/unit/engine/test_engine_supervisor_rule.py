"""The engine supervisor's reconciliation rule, case by case."""
import pytest

from dashapp.engine.supervisor import decide


@pytest.mark.parametrize("desired, gen, seen, state, expected_stop, action, report", [
    ("running", 0, 0, "RUNNING", False, "none", None),
    ("running", 0, None, "STOPPED", False, "start", "stopped"),
    ("running", 0, 0, "EXITED", False, "start", "crashed"),
    ("running", 0, 0, "FATAL", False, "start", "crashed"),
    ("running", 0, 0, "EXITED", True, "start", "stopped"),
    ("stopped", 0, 0, "RUNNING", False, "stop", None),
    ("stopped", 0, 0, "STARTING", False, "stop", None),
    ("stopped", 0, 0, "STOPPED", True, "none", "stopped"),
    ("running", 2, 1, "RUNNING", False, "restart", None),
    ("running", 2, None, "RUNNING", False, "none", None),
])
def test_decide(desired, gen, seen, state, expected_stop, action, report):
    decision = decide(desired, gen, seen, state, expected_stop)
    assert (decision.action, decision.report) == (action, report), decision.why
