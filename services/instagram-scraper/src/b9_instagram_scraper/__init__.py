"""b9 instagram-scraper service: tracks creators, discovers related ones, publishes facts."""

__version__ = "0.1.0"
