"""b9 reddit-scraper service."""
