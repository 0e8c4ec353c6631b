"""The read model's SQL migrations, applied in file-name order by b9_common.db.migrate.

They are found through the ``b9.migrations`` entry point this package registers, so every
migrator (persistence at start, ``b9 up``, ``b9 rebuild``, the test harness, the benchmarks)
applies the same files without importing this package by name."""
