"""Live events: publish from any process, fan out to every open browser page."""
from dashapp.realtime.bus import publish, subscribe

__all__ = ["publish", "subscribe"]
