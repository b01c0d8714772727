"""Keeping listings true: review reminders, claims, merges, unmet searches

- review_reminder: each reminder sent, once per stage (10, 11, 12 months)
  and per review date;
- listing_claim: requests from centre staff to keep a listing;
- organization_merge: a merged organization's id and slug, which redirect
  to the one kept, and what an undo needs;
- unmet_search: monthly counts of searches that found fewer than three
  services, without personal data.

Revision ID: 0014
Revises: 0013
"""

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "review_reminder",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organization_id", sa.String(length=36), nullable=False),
        sa.Column("stage", sa.String(length=10), nullable=False),
        sa.Column("reviewed_on", sa.Date(), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["organization_id"], ["organization.id"],
                                name=op.f("fk_review_reminder_organization_id_organization"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_review_reminder")),
        sa.UniqueConstraint("organization_id", "stage", "reviewed_on",
                            name=op.f("uq_review_reminder_organization_id")),
    )
    op.create_index(op.f("ix_review_reminder_organization_id"), "review_reminder", ["organization_id"])

    op.create_table(
        "listing_claim",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organization_id", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("role", sa.String(length=200), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("language", sa.String(length=8), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decided_by_id", sa.Integer(), nullable=True),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["organization_id"], ["organization.id"],
                                name=op.f("fk_listing_claim_organization_id_organization"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["decided_by_id"], ["user_account.id"],
                                name=op.f("fk_listing_claim_decided_by_id_user_account"), ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["user_id"], ["user_account.id"],
                                name=op.f("fk_listing_claim_user_id_user_account"), ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_listing_claim")),
    )
    op.create_index(op.f("ix_listing_claim_organization_id"), "listing_claim", ["organization_id"])
    op.create_index(op.f("ix_listing_claim_status"), "listing_claim", ["status"])

    op.create_table(
        "organization_merge",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kept_id", sa.String(length=36), nullable=False),
        sa.Column("merged_id", sa.String(length=36), nullable=False),
        sa.Column("merged_slug", sa.String(length=120), nullable=False),
        sa.Column("merged_name", sa.String(length=300), nullable=False),
        sa.Column("snapshot", sa.Text(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("undone_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["kept_id"], ["organization.id"],
                                name=op.f("fk_organization_merge_kept_id_organization"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["user_id"], ["user_account.id"],
                                name=op.f("fk_organization_merge_user_id_user_account"), ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_organization_merge")),
    )
    op.create_index(op.f("ix_organization_merge_kept_id"), "organization_merge", ["kept_id"])
    op.create_index(op.f("ix_organization_merge_merged_id"), "organization_merge", ["merged_id"])
    op.create_index(op.f("ix_organization_merge_merged_slug"), "organization_merge", ["merged_slug"])

    op.create_table(
        "unmet_search",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("month", sa.String(length=7), nullable=False),
        sa.Column("words", sa.String(length=200), nullable=False),
        sa.Column("filters", sa.String(length=300), nullable=False),
        sa.Column("municipality", sa.String(length=10), nullable=False),
        sa.Column("searches", sa.Integer(), nullable=False),
        sa.Column("found_nothing", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_unmet_search")),
        sa.UniqueConstraint("month", "words", "filters", "municipality", name=op.f("uq_unmet_search_month")),
    )
    op.create_index(op.f("ix_unmet_search_month"), "unmet_search", ["month"])


def downgrade():
    op.drop_index(op.f("ix_unmet_search_month"), table_name="unmet_search")
    op.drop_table("unmet_search")
    op.drop_index(op.f("ix_organization_merge_merged_slug"), table_name="organization_merge")
    op.drop_index(op.f("ix_organization_merge_merged_id"), table_name="organization_merge")
    op.drop_index(op.f("ix_organization_merge_kept_id"), table_name="organization_merge")
    op.drop_table("organization_merge")
    op.drop_index(op.f("ix_listing_claim_status"), table_name="listing_claim")
    op.drop_index(op.f("ix_listing_claim_organization_id"), table_name="listing_claim")
    op.drop_table("listing_claim")
    op.drop_index(op.f("ix_review_reminder_organization_id"), table_name="review_reminder")
    op.drop_table("review_reminder")
