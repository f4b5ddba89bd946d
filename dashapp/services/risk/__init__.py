"""Risk: the book's exposures and return history (book.py), VaR/CVaR and portfolio structure
(measures.py), options Greeks (greeks.py), limits and what breaching them does (limits.py,
monitor.py), the pre-trade what-if (whatif.py) and stress scenarios (stress.py)."""
