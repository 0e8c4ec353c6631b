"""The PostgreSQL read model, owned by persistence: its schema and the queries other services run.

- ``migrations/``: the schema (``NNNN_name.sql``), registered under the ``b9.migrations`` entry
  point and applied by ``b9_common.db.migrate`` (persistence at start, ``b9 up``, ``b9 rebuild``,
  the test harness, the benchmarks).
- One module of typed query functions per subject (``subreddits``, ``creators``, ...), each an
  async function over an asyncpg pool or connection (:data:`b9_readmodel.sql.Db`). The gateway,
  the scrapers and the replay log import these instead of writing SQL, so a column rename is a
  change to this package and its tests. Persistence's writers stay in persistence.
"""
