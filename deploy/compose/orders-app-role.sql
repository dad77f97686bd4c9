-- The role the data-api connects as under docker compose: not a superuser, no CREATE anywhere, only
-- reading and writing the rows of the tables the migrations create. The `seed` job (migrations and
-- the demo catalogue) runs as the superuser that runs this script, and owns the tables; the default
-- privileges below give orders_app its rights on each table as the migrations create it.
--
-- PostgreSQL's image runs this once, when it initialises an empty data directory, connected to
-- POSTGRES_DB as POSTGRES_USER, with ORDERS_APP_PASSWORD in its environment (docker-compose.yml).
-- It is idempotent: `psql -v ON_ERROR_STOP=1 -d <database> -f` it again to repair the role or its
-- rights (docs/docker.md).
\set ON_ERROR_STOP on
\getenv app_password ORDERS_APP_PASSWORD

SELECT 'CREATE ROLE orders_app LOGIN' WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'orders_app') \gexec
ALTER ROLE orders_app WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS NOINHERIT PASSWORD :'app_password';

SELECT format('GRANT CONNECT ON DATABASE %I TO orders_app', current_database()) \gexec
-- USAGE only: PostgreSQL 15 grants nobody but the owner CREATE on schema public.
GRANT USAGE ON SCHEMA public TO orders_app;

-- The data-api inserts orders, movements and outbox events, updates rows (an outbox event's
-- publication, a variant's details) and deletes nothing: no DELETE, TRUNCATE, REFERENCES or TRIGGER.
GRANT SELECT, INSERT, UPDATE ON ALL TABLES IN SCHEMA public TO orders_app;
GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO orders_app;
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT, INSERT, UPDATE ON TABLES TO orders_app;
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE, SELECT ON SEQUENCES TO orders_app;
