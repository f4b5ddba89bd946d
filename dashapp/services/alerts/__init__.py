"""Alerts and incidents (issue 11).

- `metrics`: the registry of what rules can watch (metric sources and event sources); other areas
  (risk, execution, engines, jobs, operations, models) register their sources here.
- rules, evaluation and the state machine; notification policies and delivery; the inbox and
  incidents: see the modules beside this one and docs/ARCHITECTURE.md.
"""
