"""The search index follows service areas

"Serves my place" filters on service_area.area_code (0012), so a write to
service_area must reach every process's search index like any other write
search reads: it moves search_state.version (as 0003's triggers do) and
records its service in search_change (as 0011's do). An area hangs on a
service or on one of its service_at_location rows; either way it is the
service's.

The SQL here is frozen as it ran; directory/search_index.py reproduces it to
suspend and resume the triggers around a bulk write.

Revision ID: 0013
Revises: 0012
"""

from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

TABLE = "service_area"
EVENTS = ["INSERT", "UPDATE", "DELETE"]
BUMP = "UPDATE search_state SET version = version + 1 WHERE id = 1"
_SAL_NEW = "(SELECT service_id FROM service_at_location WHERE id = NEW.service_at_location_id)"
_SAL_OLD = "(SELECT service_id FROM service_at_location WHERE id = OLD.service_at_location_id)"
CHANGE_TRIGGERS = [
    ("INSERT", ["NEW.service_id", _SAL_NEW]),
    ("UPDATE", ["OLD.service_id", _SAL_OLD, "NEW.service_id", _SAL_NEW]),
    ("DELETE", ["OLD.service_id", _SAL_OLD]),
]


def _pg_select(expression: str) -> str:
    sql = expression[1:-1] if expression.startswith("(") else f"SELECT {expression}"
    return sql.replace("NEW.", "($1).").replace("OLD.", "($2).")


def upgrade():
    postgresql = op.get_bind().dialect.name == "postgresql"
    for event in EVENTS:
        name = f"search_state_{TABLE}_{event.lower()}"
        if postgresql:
            op.execute(f"CREATE TRIGGER {name} AFTER {event} ON {TABLE} "
                       "FOR EACH STATEMENT EXECUTE FUNCTION search_state_bump()")
        else:
            op.execute(f"CREATE TRIGGER {name} AFTER {event} ON {TABLE} BEGIN {BUMP}; END")
    for event, expressions in CHANGE_TRIGGERS:
        name = f"search_change_{TABLE}_{event.lower()}"
        if postgresql:
            args = ", ".join("'" + _pg_select(e).replace("'", "''") + "'" for e in expressions)
            op.execute(f"CREATE TRIGGER {name} AFTER {event} ON {TABLE} "
                       f"FOR EACH ROW EXECUTE FUNCTION search_change_record({args})")
        else:
            inserts = "\n".join(
                f"  INSERT INTO search_change(service_id) {e[1:-1]};" if e.startswith("(")
                else f"  INSERT INTO search_change(service_id) SELECT {e} WHERE {e} IS NOT NULL;"
                for e in expressions
            )
            op.execute(f"CREATE TRIGGER {name} AFTER {event} ON {TABLE}\nBEGIN\n{inserts}\nEND")


def downgrade():
    postgresql = op.get_bind().dialect.name == "postgresql"
    for prefix in ("search_change", "search_state"):
        for event in EVENTS:
            name = f"{prefix}_{TABLE}_{event.lower()}"
            op.execute(f"DROP TRIGGER IF EXISTS {name} ON {TABLE}" if postgresql
                       else f"DROP TRIGGER IF EXISTS {name}")
