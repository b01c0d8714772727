"""The migrations build the schema the models describe, on every database."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade
from sqlalchemy import inspect

from directory.extensions import db
from directory.search import include_in_autogenerate


def model_tables() -> set[str]:
    return {table.name for table in db.metadata.sorted_tables}


def test_downgrade_to_empty_and_upgrade_to_head(app):
    with app.app_context():
        downgrade(revision="base")
        db.engine.dispose()
        assert set(inspect(db.engine).get_table_names()) <= {"alembic_version"}
        upgrade()
        db.engine.dispose()
        assert model_tables() <= set(inspect(db.engine).get_table_names())


def test_autogenerate_finds_no_drift_from_the_models(app):
    with app.app_context():
        with db.engine.connect() as connection:
            context = MigrationContext.configure(
                connection,
                opts={"compare_type": True, "include_name": include_in_autogenerate},
            )
            differences = compare_metadata(context, db.metadata)
    assert differences == []
