"""Full-text search index kept in sync by database triggers

SQLite: an FTS5 table (unicode61, remove_diacritics 2) whose rowid is the
service's rowid. PostgreSQL: a table of tsvectors (unaccent, 'simple'
configuration) with a GIN index. On both, triggers on every table that feeds a
service's search document rebuild that service's entry, so the index follows
the data whatever writes it: the ORM, an import, or plain SQL.

Revision ID: 0002
Revises: 0001
"""

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def document_view(aggregate: str) -> str:
    """The text a service is found by: its names, its centre, the labels of
    its taxonomy terms in every language, its places, and the descriptions."""
    return f"""
CREATE VIEW service_search_document AS
SELECT s.id AS service_id,
       s.name || ' ' || coalesce(s.alternate_name, '') AS name,
       o.name || ' ' || coalesce(o.alternate_name, '') AS centre,
       coalesce((SELECT {aggregate}(l.name, ' ')
                   FROM service_taxonomy_term st
                   JOIN taxonomy_term_label l ON l.term_id = st.taxonomy_term_id
                  WHERE st.service_id = s.id), '') AS terms,
       coalesce((SELECT {aggregate}(coalesce(a.city, '') || ' ' || coalesce(a.municipality, ''), ' ')
                   FROM service_at_location sal
                   JOIN address a ON a.location_id = sal.location_id
                  WHERE sal.service_id = s.id), '') AS place,
       coalesce(s.description, '') || ' ' || coalesce(o.description, '') AS body
  FROM service s
  JOIN organization o ON o.id = s.organization_id
"""


# (trigger name, table, event, SQL expression giving the service ids to refresh)
# NEW and OLD follow the event; UPDATE refreshes both sides.
TRIGGERS = [
    ("service_ai", "service", "INSERT", ["NEW.id"]),
    ("service_au", "service", "UPDATE", ["NEW.id"]),
    ("organization_au", "organization", "UPDATE",
     ["(SELECT id FROM service WHERE organization_id = NEW.id)"]),
    ("stt_ai", "service_taxonomy_term", "INSERT", ["NEW.service_id"]),
    ("stt_ad", "service_taxonomy_term", "DELETE", ["OLD.service_id"]),
    ("sal_ai", "service_at_location", "INSERT", ["NEW.service_id"]),
    ("sal_au", "service_at_location", "UPDATE", ["OLD.service_id", "NEW.service_id"]),
    ("sal_ad", "service_at_location", "DELETE", ["OLD.service_id"]),
    ("address_ai", "address", "INSERT",
     ["(SELECT service_id FROM service_at_location WHERE location_id = NEW.location_id)"]),
    ("address_au", "address", "UPDATE",
     ["(SELECT service_id FROM service_at_location WHERE location_id = OLD.location_id)",
      "(SELECT service_id FROM service_at_location WHERE location_id = NEW.location_id)"]),
    ("address_ad", "address", "DELETE",
     ["(SELECT service_id FROM service_at_location WHERE location_id = OLD.location_id)"]),
    ("label_ai", "taxonomy_term_label", "INSERT",
     ["(SELECT service_id FROM service_taxonomy_term WHERE taxonomy_term_id = NEW.term_id)"]),
    ("label_au", "taxonomy_term_label", "UPDATE",
     ["(SELECT service_id FROM service_taxonomy_term WHERE taxonomy_term_id = OLD.term_id)",
      "(SELECT service_id FROM service_taxonomy_term WHERE taxonomy_term_id = NEW.term_id)"]),
    ("label_ad", "taxonomy_term_label", "DELETE",
     ["(SELECT service_id FROM service_taxonomy_term WHERE taxonomy_term_id = OLD.term_id)"]),
]


def upgrade():
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        _upgrade_sqlite()
    elif dialect == "postgresql":
        _upgrade_postgresql()
    else:
        raise NotImplementedError(f"No search index for {dialect}")


def downgrade():
    dialect = op.get_bind().dialect.name
    for name, table, _, _ in TRIGGERS:
        if dialect == "postgresql":
            op.execute(f"DROP TRIGGER IF EXISTS search_{name} ON {table}")
        else:
            op.execute(f"DROP TRIGGER IF EXISTS search_{name}")
    if dialect == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS search_service_ad")
        op.execute("DROP TABLE IF EXISTS service_fts")
    else:
        op.execute("DROP FUNCTION IF EXISTS search_refresh_trigger() CASCADE")
        op.execute("DROP FUNCTION IF EXISTS refresh_service_search(varchar[])")
        op.execute("DROP TABLE IF EXISTS service_search")
    op.execute("DROP VIEW IF EXISTS service_search_document")


def _upgrade_sqlite():
    op.execute(document_view("group_concat"))
    op.execute(
        "CREATE VIRTUAL TABLE service_fts USING fts5("
        "name, centre, terms, place, body, "
        "tokenize = 'unicode61 remove_diacritics 2')"
    )
    for name, table, event, expressions in TRIGGERS:
        ids = " UNION ".join(
            e[1:-1] if e.startswith("(") else f"SELECT {e}" for e in expressions
        )
        # An update may change the rowid's document: drop old entries first.
        op.execute(
            f"""
CREATE TRIGGER search_{name} AFTER {event} ON {table}
BEGIN
  DELETE FROM service_fts WHERE rowid IN (SELECT rowid FROM service WHERE id IN ({ids}));
  INSERT INTO service_fts(rowid, name, centre, terms, place, body)
  SELECT s.rowid, d.name, d.centre, d.terms, d.place, d.body
    FROM service_search_document d JOIN service s ON s.id = d.service_id
   WHERE d.service_id IN ({ids});
END"""
        )
    op.execute(
        """
CREATE TRIGGER search_service_ad AFTER DELETE ON service
BEGIN
  DELETE FROM service_fts WHERE rowid = OLD.rowid;
END"""
    )
    op.execute(
        "INSERT INTO service_fts(rowid, name, centre, terms, place, body) "
        "SELECT s.rowid, d.name, d.centre, d.terms, d.place, d.body "
        "FROM service_search_document d JOIN service s ON s.id = d.service_id"
    )


def _upgrade_postgresql():
    op.execute("CREATE EXTENSION IF NOT EXISTS unaccent")
    op.execute(document_view("string_agg"))
    op.execute(
        """
CREATE TABLE service_search (
  service_id varchar(36) PRIMARY KEY REFERENCES service(id) ON DELETE CASCADE,
  document tsvector NOT NULL
)"""
    )
    op.execute("CREATE INDEX ix_service_search_document ON service_search USING gin (document)")
    op.execute(
        """
CREATE FUNCTION refresh_service_search(ids varchar[]) RETURNS void AS $$
  DELETE FROM service_search WHERE service_id = ANY(ids);
  INSERT INTO service_search (service_id, document)
  SELECT d.service_id,
         setweight(to_tsvector('simple', unaccent(d.name)), 'A') ||
         setweight(to_tsvector('simple', unaccent(d.centre)), 'A') ||
         setweight(to_tsvector('simple', unaccent(d.terms)), 'B') ||
         setweight(to_tsvector('simple', unaccent(d.place)), 'B') ||
         setweight(to_tsvector('simple', unaccent(d.body)), 'D')
    FROM service_search_document d
   WHERE d.service_id = ANY(ids);
$$ LANGUAGE sql"""
    )
    # One trigger function; each trigger passes the SQL that finds the
    # affected service ids as its argument.
    op.execute(
        """
CREATE FUNCTION search_refresh_trigger() RETURNS trigger AS $$
DECLARE
  ids varchar[];
  query text;
BEGIN
  FOREACH query IN ARRAY TG_ARGV LOOP
    EXECUTE 'SELECT array_agg(id) FROM (' || query || ') AS affected(id)'
      INTO ids USING NEW, OLD;
    IF ids IS NOT NULL THEN
      PERFORM refresh_service_search(ids);
    END IF;
  END LOOP;
  RETURN NULL;
END
$$ LANGUAGE plpgsql"""
    )
    for name, table, event, expressions in TRIGGERS:
        args = ", ".join(
            "'" + _pg_select(e).replace("'", "''") + "'" for e in expressions
        )
        op.execute(
            f"CREATE TRIGGER search_{name} AFTER {event} ON {table} "
            f"FOR EACH ROW EXECUTE FUNCTION search_refresh_trigger({args})"
        )
    op.execute("SELECT refresh_service_search(ARRAY(SELECT id FROM service))")


def _pg_select(expression: str) -> str:
    """Turn NEW.x / OLD.x into the $1 / $2 record parameters of EXECUTE."""
    sql = expression[1:-1] if expression.startswith("(") else f"SELECT {expression}"
    return sql.replace("NEW.", "($1).").replace("OLD.", "($2).")
