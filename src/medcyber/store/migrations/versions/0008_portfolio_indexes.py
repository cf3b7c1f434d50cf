"""portfolio indexes: the organisation dashboard's aggregates read narrow indexes, not wide rows

* ``ix_version_findings_open``: per device version, the open findings' severity, KEV flag and status
  (covering: the findings by severity and the riskiest versions are an index scan);
* ``ix_sbom_components_support`` (partial): the components that declare an end-of-support date or a
  no-longer-maintained / abandoned level -- a few percent of all components -- per SBOM;
* ``ix_sboms_version_count``: the component count of each SBOM without reading the stored document.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

# the same text as store/models.py (SUPPORT_INDEX_WHERE) and services/portfolio.py use
SUPPORT_WHERE = "eos IS NOT NULL OR level IN ('no-longer-maintained', 'abandoned')"


def upgrade() -> None:
    op.create_index(
        "ix_version_findings_open",
        "version_findings",
        ["product_version_id", "resolved_at", "severity", "kev", "status"],
    )
    op.create_index(
        "ix_sbom_components_support",
        "sbom_components",
        ["sbom_id", "is_primary", "eos", "level"],
        sqlite_where=sa.text(SUPPORT_WHERE),
        postgresql_where=sa.text(SUPPORT_WHERE),
    )
    op.create_index("ix_sboms_version_count", "sboms", ["version_id", "component_count"])


def downgrade() -> None:
    op.drop_index("ix_sboms_version_count", table_name="sboms")
    op.drop_index("ix_sbom_components_support", table_name="sbom_components")
    op.drop_index("ix_version_findings_open", table_name="version_findings")
