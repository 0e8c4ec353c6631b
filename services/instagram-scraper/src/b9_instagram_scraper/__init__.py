"""b9 instagram-scraper service."""
