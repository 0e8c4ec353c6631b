"""Replays: re-running a slice of a stream through a service's handlers. Asked with
``request`` (``b9 replay``, the gateway), run by a replica of the owning service (``owner``
over the ``jobs`` engine: ``slices``, ``wrap``, ``runner``), recorded in ``log``."""
