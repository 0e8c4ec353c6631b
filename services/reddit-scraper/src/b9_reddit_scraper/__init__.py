"""b9 reddit-scraper service: discovers and tracks subreddits and users, publishes facts."""

__version__ = "0.1.0"
