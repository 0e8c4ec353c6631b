"""b9 categorizer service: tags subreddits and creators (OpenAI, or rules offline)."""

__version__ = "0.1.0"
