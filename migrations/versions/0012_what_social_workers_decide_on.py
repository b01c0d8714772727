"""What a social worker decides on: areas, identifiers, costs, confidential places

- service_area.area_code: the country or municipality an area is
  (directory/municipalities.py), so that "serves my place" is a lookup;
- location.confidential: an address never published (a shelter);
- organization_identifier (HSDS 3.1): registration numbers;
- cost_option (HSDS 3.1): what a service costs. It replaces the bare
  service.free_of_charge flag as the source of truth; the flag stays as
  what the search filters on, kept from the options (directory/costs.py).
  A flag already stated becomes an option: free → an amount of 0 EUR;
  not free → an option without an amount (a cost whose amount is not stated).

Revision ID: 0012
Revises: 0011
"""

import uuid

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("service_area", schema=None) as batch_op:
        batch_op.add_column(sa.Column("area_code", sa.String(length=10), nullable=True))
        batch_op.create_index(batch_op.f("ix_service_area_area_code"), ["area_code"], unique=False)

    op.add_column("location", sa.Column("confidential", sa.Boolean(), server_default="0", nullable=False))

    op.create_table(
        "organization_identifier",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("organization_id", sa.String(length=36), nullable=True),
        sa.Column("identifier_scheme", sa.String(length=100), nullable=True),
        sa.Column("identifier_type", sa.String(length=300), nullable=False),
        sa.Column("identifier", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(["organization_id"], ["organization.id"],
                                name=op.f("fk_organization_identifier_organization_id_organization"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_organization_identifier")),
    )
    op.create_index(op.f("ix_organization_identifier_organization_id"), "organization_identifier",
                    ["organization_id"], unique=False)

    cost_option = op.create_table(
        "cost_option",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("service_id", sa.String(length=36), nullable=True),
        sa.Column("valid_from", sa.Date(), nullable=True),
        sa.Column("valid_to", sa.Date(), nullable=True),
        sa.Column("option", sa.Text(), nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=True),
        sa.Column("amount", sa.Float(), nullable=True),
        sa.Column("amount_description", sa.Text(), nullable=True),
        sa.Column("position", sa.Integer(), server_default="0", nullable=False),
        sa.ForeignKeyConstraint(["service_id"], ["service.id"], name=op.f("fk_cost_option_service_id_service"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cost_option")),
    )
    op.create_index(op.f("ix_cost_option_service_id"), "cost_option", ["service_id"], unique=False)

    connection = op.get_bind()
    stated = connection.execute(
        sa.text("SELECT id, free_of_charge FROM service WHERE free_of_charge IS NOT NULL")
    ).all()
    if stated:
        op.bulk_insert(cost_option, [
            {"id": str(uuid.uuid4()), "service_id": service_id, "position": 0,
             "amount": 0.0 if free else None, "currency": "EUR" if free else None}
            for service_id, free in stated
        ])


def downgrade():
    op.drop_index(op.f("ix_cost_option_service_id"), table_name="cost_option")
    op.drop_table("cost_option")
    op.drop_index(op.f("ix_organization_identifier_organization_id"), table_name="organization_identifier")
    op.drop_table("organization_identifier")
    # Not through batch mode: SQLite would rebuild the table without its triggers.
    op.execute("ALTER TABLE location DROP COLUMN confidential")
    with op.batch_alter_table("service_area", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_service_area_area_code"))
        batch_op.drop_column("area_code")
