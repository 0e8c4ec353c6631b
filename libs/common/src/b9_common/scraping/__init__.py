"""What the scrapers share: following the control value, commands first, claimed cycles, budgets.

- ``control``: ``ControlWatch`` (the scraper's value from the ``control`` KV bucket, applied at
  once) and ``ScraperDisabled``;
- ``gate``: ``CommandsFirst`` (on-demand commands go ahead of the cycle);
- ``claims``: KV work claims (``take``/``release``, due-based ``LeaseClaims``);
- ``cycle``: ``run_claimed`` (claimed targets, ``batch_size`` at a time, stopped by a disable);
- ``ratelimit``: ``Budget`` (one token bucket in KV shared by every replica, commands first,
  a new value applied at once; both scrapers, with their own rate and burst), ``follow_budget``
  (the budget gauge), ``parse_retry_after``.

The value shapes and defaults are the catalogue's (b9_common.events.control).
"""
