"""monitoring: match runs, findings stored per device version with every id and alias, the package keys
and SBOM set of each matched version

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-27
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "match_runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("started_at", sa.DateTime(), nullable=False),
        sa.Column("finished_at", sa.DateTime(), nullable=True),
        sa.Column("generation", sa.Integer(), nullable=False),
        sa.Column("trigger", sa.String(length=10), nullable=False),
        sa.Column("advisories_considered", sa.Integer(), nullable=False),
        sa.Column("versions_matched", sa.Integer(), nullable=False),
        sa.Column("new_findings", sa.Integer(), nullable=False),
        sa.Column("resolved_findings", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "monitored_versions",
        sa.Column("product_version_id", sa.Integer(), nullable=False),
        sa.Column("sboms", sa.Text(), nullable=False),
        sa.Column("last_run_id", sa.Integer(), nullable=True),
        sa.Column("matched_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["product_version_id"], ["product_versions.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["last_run_id"], ["match_runs.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("product_version_id"),
    )
    op.create_table(
        "version_packages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("product_version_id", sa.Integer(), nullable=False),
        sa.Column("ecosystem", sa.String(length=100), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["product_version_id"], ["product_versions.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("version_packages", schema=None) as batch_op:
        batch_op.create_index("ix_version_packages_key", ["ecosystem", "name"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_version_packages_product_version_id"), ["product_version_id"], unique=False
        )

    op.create_table(
        "version_findings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("product_version_id", sa.Integer(), nullable=False),
        sa.Column("component_ref", sa.Text(), nullable=False),
        sa.Column("component_name", sa.Text(), nullable=False),
        sa.Column("component_version", sa.Text(), nullable=True),
        sa.Column("purl", sa.Text(), nullable=True),
        sa.Column("cpe", sa.Text(), nullable=True),
        sa.Column("vuln_id", sa.String(length=200), nullable=False),
        sa.Column("summary", sa.Text(), nullable=True),
        sa.Column("severity", sa.String(length=10), nullable=False),
        sa.Column("score", sa.Float(), nullable=True),
        sa.Column("kev", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("evidence", sa.Text(), nullable=False),
        sa.Column("fixed", sa.Text(), nullable=True),
        sa.Column("nearest_fix", sa.Text(), nullable=True),
        sa.Column("first_run_id", sa.Integer(), nullable=True),
        sa.Column("last_run_id", sa.Integer(), nullable=True),
        sa.Column("opened_run_id", sa.Integer(), nullable=True),
        sa.Column("first_seen_at", sa.DateTime(), nullable=False),
        sa.Column("resolved_at", sa.DateTime(), nullable=True),
        sa.Column("resolved_run_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["product_version_id"], ["product_versions.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["first_run_id"], ["match_runs.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["last_run_id"], ["match_runs.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["opened_run_id"], ["match_runs.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["resolved_run_id"], ["match_runs.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("product_version_id", "component_ref", "vuln_id", name="uq_version_finding"),
    )
    with op.batch_alter_table("version_findings", schema=None) as batch_op:
        batch_op.create_index("ix_version_findings_opened_run", ["opened_run_id"], unique=False)

    op.create_table(
        "version_finding_ids",
        sa.Column("vuln_id", sa.String(length=200), nullable=False),
        sa.Column("finding_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["finding_id"], ["version_findings.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("vuln_id", "finding_id"),
    )
    with op.batch_alter_table("version_finding_ids", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_version_finding_ids_finding_id"), ["finding_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("version_finding_ids", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_version_finding_ids_finding_id"))
    op.drop_table("version_finding_ids")
    with op.batch_alter_table("version_findings", schema=None) as batch_op:
        batch_op.drop_index("ix_version_findings_opened_run")
    op.drop_table("version_findings")
    with op.batch_alter_table("version_packages", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_version_packages_product_version_id"))
        batch_op.drop_index("ix_version_packages_key")
    op.drop_table("version_packages")
    op.drop_table("monitored_versions")
    op.drop_table("match_runs")
