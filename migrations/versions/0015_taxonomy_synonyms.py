"""Synonyms of taxonomy terms, found by the search in every language

- taxonomy_term_label.synonyms: other words people use for a term in that
  language, one per line (admins edit them with the labels);
- the view service_search_document: a service's `terms` hold its terms'
  labels and their synonyms (the search triggers read the view when they
  run), and the full-text tables are refreshed;
- existing installs' starter terms get the synonyms of the packaged
  taxonomy.toml (by vocabulary and term code, only where none are set).

Revision ID: 0015
Revises: 0014
"""

import tomllib
from importlib import resources

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

LANGUAGES = ("lv", "lt", "en", "ru")


def document_view(aggregate: str, label: str, create: str) -> str:
    """The search document of migration 0002, with `label` as the text of
    one term label."""
    return f"""
{create} service_search_document AS
SELECT s.id AS service_id,
       s.name || ' ' || coalesce(s.alternate_name, '') AS name,
       o.name || ' ' || coalesce(o.alternate_name, '') AS centre,
       coalesce((SELECT {aggregate}({label}, ' ')
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


WITH_SYNONYMS = "l.name || ' ' || coalesce(l.synonyms, '')"
LABEL_ONLY = "l.name"


def _replace_view(label: str) -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(document_view("string_agg", label, "CREATE OR REPLACE VIEW"))
    else:
        op.execute("DROP VIEW service_search_document")
        op.execute(document_view("group_concat", label, "CREATE VIEW"))


def _refresh_full_text() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("SELECT refresh_service_search(ARRAY(SELECT id FROM service))")
    else:
        op.execute("DELETE FROM service_fts")
        op.execute(
            "INSERT INTO service_fts(rowid, name, centre, terms, place, body) "
            "SELECT s.rowid, d.name, d.centre, d.terms, d.place, d.body "
            "FROM service_search_document d JOIN service s ON s.id = d.service_id"
        )


def _packaged_synonyms() -> list[dict]:
    """(vocabulary, term code, language, synonyms) of the packaged starter taxonomy."""
    data = tomllib.loads(resources.files("directory").joinpath("starter_data/taxonomy.toml").read_text("utf-8"))
    rows = []
    for taxonomy in data.get("taxonomy", []):
        for term in taxonomy.get("term", []):
            for locale in LANGUAGES:
                words = [w.strip() for w in term.get(f"{locale}_synonyms", []) if w.strip()]
                if words:
                    rows.append({"taxonomy": taxonomy["code"], "code": term["code"], "locale": locale,
                                 "synonyms": "\n".join(words)})
    return rows


def upgrade():
    op.add_column("taxonomy_term_label", sa.Column("synonyms", sa.Text(), nullable=True))
    _replace_view(WITH_SYNONYMS)
    rows = _packaged_synonyms()
    if rows:
        op.get_bind().execute(
            sa.text(
                "UPDATE taxonomy_term_label SET synonyms = :synonyms "
                "WHERE locale = :locale AND synonyms IS NULL AND term_id IN ("
                "SELECT t.id FROM taxonomy_term t JOIN taxonomy x ON x.id = t.taxonomy_id "
                "WHERE x.code = :taxonomy AND t.code = :code)"
            ),
            rows,
        )
    _refresh_full_text()


def downgrade():
    # The view stops reading the column before it goes (SQLite refuses to
    # drop a column a view names).
    _replace_view(LABEL_ONLY)
    if op.get_bind().dialect.name == "postgresql":
        op.drop_column("taxonomy_term_label", "synonyms")
    else:
        op.execute("ALTER TABLE taxonomy_term_label DROP COLUMN synonyms")
    _refresh_full_text()
