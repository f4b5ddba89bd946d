"""Backtests on daily bars: numba event loop (loop_nb), its wrapper (engine), strategies,
metrics from dashapp.kernels, compact results for the job store (results), and the
backtest-vs-live comparison (live)."""
