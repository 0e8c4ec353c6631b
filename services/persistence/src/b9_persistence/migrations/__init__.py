"""SQL migrations, applied in file-name order by b9_common.db.migrate."""
