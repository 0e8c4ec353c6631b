"""Outbound network safety: SSRF guards and webhook URL checks."""
