"""Tracked accounts: the KV store and its in-process mirror."""
