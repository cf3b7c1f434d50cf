"""End-of-support (legacy) analysis: SBOM components mapped to endoflife.date products and cycles."""

from .analysis import ComponentLifecycle, LifecycleReport, SupportStatus, analyse
from .catalog import Catalog, CatalogError

__all__ = ["Catalog", "CatalogError", "ComponentLifecycle", "LifecycleReport", "SupportStatus", "analyse"]
