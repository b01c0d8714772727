"""A version counter that moves on every change a search can see

Each application process keeps its facet index in memory (directory/facets.py)
and rebuilds it when this counter moves; triggers bump it on every write to a
table that search reads. `generation` tells apart two databases (or a
re-created one) whose counters happen to be equal.

Revision ID: 0003
Revises: 0002
"""

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

WATCHED_TABLES = [
    "service",
    "organization",
    "location",
    "address",
    "service_at_location",
    "service_taxonomy_term",
    "taxonomy",
    "taxonomy_term",
    "taxonomy_term_label",
    "language",
    "schedule",
]
EVENTS = ["INSERT", "UPDATE", "DELETE"]
BUMP = "UPDATE search_state SET version = version + 1 WHERE id = 1"


def upgrade():
    dialect = op.get_bind().dialect.name
    random_token = (
        "lower(hex(randomblob(8)))" if dialect == "sqlite" else "md5(random()::text || clock_timestamp()::text)"
    )
    op.execute(
        "CREATE TABLE search_state (id integer PRIMARY KEY, version bigint NOT NULL, "
        "generation varchar(40) NOT NULL)"
    )
    op.execute(f"INSERT INTO search_state (id, version, generation) VALUES (1, 1, {random_token})")
    if dialect == "postgresql":
        op.execute(
            f"""
CREATE FUNCTION search_state_bump() RETURNS trigger AS $$
BEGIN
  {BUMP};
  RETURN NULL;
END
$$ LANGUAGE plpgsql"""
        )
    for table in WATCHED_TABLES:
        for event in EVENTS:
            name = f"search_state_{table}_{event.lower()}"
            if dialect == "postgresql":
                op.execute(
                    f"CREATE TRIGGER {name} AFTER {event} ON {table} "
                    "FOR EACH STATEMENT EXECUTE FUNCTION search_state_bump()"
                )
            else:
                op.execute(f"CREATE TRIGGER {name} AFTER {event} ON {table} BEGIN {BUMP}; END")


def downgrade():
    dialect = op.get_bind().dialect.name
    for table in WATCHED_TABLES:
        for event in EVENTS:
            name = f"search_state_{table}_{event.lower()}"
            if dialect == "postgresql":
                op.execute(f"DROP TRIGGER IF EXISTS {name} ON {table}")
            else:
                op.execute(f"DROP TRIGGER IF EXISTS {name}")
    if dialect == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS search_state_bump()")
    op.execute("DROP TABLE search_state")
