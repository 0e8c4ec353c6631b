"""b9 alerts service: evaluates people's alert rules over the streams (notifications, webhooks)."""

__version__ = "0.1.0"
