"""vulnerability intelligence: advisories (OSV, NVD) with aliases, packages and CPEs, KEV, EPSS, the
import log, sync state and the data generation counter

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "vuln_imports",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=10), nullable=False),
        sa.Column("location", sa.Text(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=True),
        sa.Column("started_at", sa.DateTime(), nullable=False),
        sa.Column("finished_at", sa.DateTime(), nullable=True),
        sa.Column("read", sa.Integer(), nullable=False),
        sa.Column("added", sa.Integer(), nullable=False),
        sa.Column("updated", sa.Integer(), nullable=False),
        sa.Column("unchanged", sa.Integer(), nullable=False),
        sa.Column("withdrawn", sa.Integer(), nullable=False),
        sa.Column("problem_count", sa.Integer(), nullable=False),
        sa.Column("problems", sa.JSON(), nullable=False),
        sa.Column("generation", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "advisories",
        sa.Column("pk", sa.Integer(), nullable=False),
        sa.Column("id", sa.String(length=200), nullable=False),
        sa.Column("source", sa.String(length=10), nullable=False),
        sa.Column("modified", sa.DateTime(), nullable=False),
        sa.Column("published", sa.DateTime(), nullable=True),
        sa.Column("withdrawn", sa.DateTime(), nullable=True),
        sa.Column("summary", sa.Text(), nullable=True),
        sa.Column("details", sa.Text(), nullable=True),
        sa.Column("record", sa.Text(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("location", sa.Text(), nullable=False),
        sa.Column("retrieved_at", sa.DateTime(), nullable=False),
        sa.Column("import_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["import_id"], ["vuln_imports.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("pk"),
        sa.UniqueConstraint("source", "id", name="uq_advisory_source_id"),
    )
    with op.batch_alter_table("advisories", schema=None) as batch_op:
        batch_op.create_index("ix_advisories_id", ["id"], unique=False)
        batch_op.create_index("ix_advisories_modified", ["modified"], unique=False)

    op.create_table(
        "advisory_aliases",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("advisory_pk", sa.Integer(), nullable=False),
        sa.Column("alias", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(["advisory_pk"], ["advisories.pk"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("advisory_aliases", schema=None) as batch_op:
        batch_op.create_index("ix_advisory_aliases_alias", ["alias"], unique=False)
        batch_op.create_index(batch_op.f("ix_advisory_aliases_advisory_pk"), ["advisory_pk"], unique=False)

    op.create_table(
        "advisory_packages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("advisory_pk", sa.Integer(), nullable=False),
        sa.Column("ecosystem", sa.String(length=100), nullable=False),
        sa.Column("ecosystem_full", sa.String(length=200), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["advisory_pk"], ["advisories.pk"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("advisory_packages", schema=None) as batch_op:
        batch_op.create_index("ix_advisory_packages_eco_name", ["ecosystem", "name"], unique=False)
        batch_op.create_index(batch_op.f("ix_advisory_packages_advisory_pk"), ["advisory_pk"], unique=False)

    op.create_table(
        "advisory_cpes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("advisory_pk", sa.Integer(), nullable=False),
        sa.Column("part", sa.String(length=1), nullable=False),
        sa.Column("vendor", sa.Text(), nullable=False),
        sa.Column("product", sa.Text(), nullable=False),
        sa.Column("vulnerable", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(["advisory_pk"], ["advisories.pk"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("advisory_cpes", schema=None) as batch_op:
        batch_op.create_index("ix_advisory_cpes_vendor_product", ["vendor", "product"], unique=False)
        batch_op.create_index(batch_op.f("ix_advisory_cpes_advisory_pk"), ["advisory_pk"], unique=False)

    op.create_table(
        "kev",
        sa.Column("cve_id", sa.String(length=40), nullable=False),
        sa.Column("vendor", sa.Text(), nullable=False),
        sa.Column("product", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("date_added", sa.Date(), nullable=False),
        sa.Column("due_date", sa.Date(), nullable=True),
        sa.Column("required_action", sa.Text(), nullable=False),
        sa.Column("known_ransomware", sa.String(length=40), nullable=True),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.Column("catalog_version", sa.String(length=40), nullable=True),
        sa.Column("import_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["import_id"], ["vuln_imports.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("cve_id"),
    )
    op.create_table(
        "epss",
        sa.Column("cve_id", sa.String(length=40), nullable=False),
        sa.Column("epss", sa.Float(), nullable=False),
        sa.Column("percentile", sa.Float(), nullable=False),
        sa.Column("date", sa.Date(), nullable=True),
        sa.Column("model_version", sa.String(length=40), nullable=True),
        sa.PrimaryKeyConstraint("cve_id"),
    )
    op.create_table(
        "vuln_sync_state",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=10), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("etag", sa.Text(), nullable=True),
        sa.Column("last_modified", sa.Text(), nullable=True),
        sa.Column("sha256", sa.String(length=64), nullable=True),
        sa.Column("cursor", sa.JSON(), nullable=True),
        sa.Column("synced_until", sa.DateTime(), nullable=True),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("source", "url", name="uq_vuln_sync_source_url"),
    )
    op.create_table(
        "db_generation",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("generation", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.execute(
        sa.text("INSERT INTO db_generation (id, generation, updated_at) VALUES (1, 0, CURRENT_TIMESTAMP)")
    )


def downgrade() -> None:
    op.drop_table("db_generation")
    op.drop_table("vuln_sync_state")
    op.drop_table("epss")
    op.drop_table("kev")
    with op.batch_alter_table("advisory_cpes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_advisory_cpes_advisory_pk"))
        batch_op.drop_index("ix_advisory_cpes_vendor_product")
    op.drop_table("advisory_cpes")
    with op.batch_alter_table("advisory_packages", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_advisory_packages_advisory_pk"))
        batch_op.drop_index("ix_advisory_packages_eco_name")
    op.drop_table("advisory_packages")
    with op.batch_alter_table("advisory_aliases", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_advisory_aliases_advisory_pk"))
        batch_op.drop_index("ix_advisory_aliases_alias")
    op.drop_table("advisory_aliases")
    with op.batch_alter_table("advisories", schema=None) as batch_op:
        batch_op.drop_index("ix_advisories_modified")
        batch_op.drop_index("ix_advisories_id")
    op.drop_table("advisories")
    op.drop_table("vuln_imports")
