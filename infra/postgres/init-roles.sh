#!/bin/sh
# First start of the PostgreSQL container only (docker-entrypoint-initdb.d).
# b9_writer owns the database (persistence applies the migrations and writes the read model);
# b9_reader can only read it (gateway, scrapers' schedulers).
set -eu
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" <<SQL
CREATE ROLE b9_writer LOGIN PASSWORD '${B9_WRITER_DB_PASSWORD}';
CREATE ROLE b9_reader LOGIN PASSWORD '${B9_READER_DB_PASSWORD}';
ALTER DATABASE "${POSTGRES_DB}" OWNER TO b9_writer;
GRANT CONNECT ON DATABASE "${POSTGRES_DB}" TO b9_reader;
GRANT USAGE ON SCHEMA public TO b9_reader;
ALTER DEFAULT PRIVILEGES FOR ROLE b9_writer IN SCHEMA public GRANT SELECT ON TABLES TO b9_reader;
ALTER DEFAULT PRIVILEGES FOR ROLE b9_writer IN SCHEMA public GRANT SELECT ON SEQUENCES TO b9_reader;
SQL
