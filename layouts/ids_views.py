"""Component ids of the views added for issue 10 (prices, risk gate, options, routing, regime),
kept apart from layouts/ids.py so parallel work on the older pages never collides with them."""


class Prices:
    INSTRUMENT = "px-instrument"
    INTERVAL = "px-interval"
    CHART = "px-chart"
    NOTE = "px-note"


class Regime:
    CHART = "cc-regime-chart"
    TICK = "cc-regime-tick"


class Gate:
    WINDOW = "gate-window"
    STATS = "gate-stats"
    SHARES = "gate-shares"
    STOPS = "gate-stops"
    EFFECT = "gate-effectiveness"
    NOTE = "gate-note"
    REFRESH = "gate-refresh"


class Options:
    UNDERLYING = "opt-underlying"
    STRATEGY = "opt-strategy"
    EXPIRY = "opt-expiry"
    POSITIONS = "opt-positions"
    TOTALS = "opt-totals"
    PNL = "opt-pnl"
    HEATMAP = "opt-heatmap"
    NOTE = "opt-note"


class Routing:
    PERIOD = "rt-period"
    SANKEY = "rt-sankey"
    VENUES = "rt-venues"
    SPREAD = "rt-spread"
    NOTE = "rt-note"
