"""The built-in paper trading engine: a separate process that replays market data, runs two
strategies, gates every order through a pre-trade risk check, routes child orders to simulated
venues, and reports everything to the cockpit through the same REST ingest any engine uses.
It is paper only: it never sends an order anywhere real."""
