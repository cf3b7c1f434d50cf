"""The demo workspace: a synthetic cohort calibrated to the published 2022 benchmark, Acme Medical with its
assessments and device portfolio, a second organisation (Beacon Devices) and demo logins.

The portfolio is real data, never made up: the SBOMs are public files (a real anonymised medical-device
SBOM and CycloneDX example SBOMs) and the vulnerability data is the PyPA advisory database (OSV), CISA's
KEV catalogue and real NVD CVE records, all read from the project's shared data folder
(:func:`shared_data_dir`) through the same importers as ``medcyber vulns import`` and ``sbom import``; the
findings come from the same monitoring run as ``medcyber vulns monitor``. Without that folder the
portfolio is skipped (the summary says why) and the rest of the demo still loads.

Every step is idempotent: what exists is left as it is (an existing demo account keeps its password),
a data source already imported from the same place is not imported again, and monitoring runs only when
a device version is not matched yet or the vulnerability data changed since the last run.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..accounts import passwords
from ..benchmark.demo import acme_assessments, demo_cohort
from ..benchmark.models import OrgProfile
from ..maturity.bank import load_bank
from ..store.models import (
    Organisation,
    Product,
    ProductVersion,
    SbomRecord,
    VersionFindingRow,
    VulnImportRow,
)
from . import accounts as accounts_svc
from . import assessments as assess_svc
from . import benchmark as bench_svc
from . import monitoring, vulndb
from . import products as products_svc

DEMO_COHORT = "mdic-2022-synthetic"
SHARED_DATA_ENV = "MEDCYBER_SHARED_DATA"

# One password for every demo account, printed by `medcyber demo load` and documented in the README.
# It passes the password policy (accounts/passwords.py). Never load the demo into a production store.
DEMO_PASSWORD = "demo-Passw0rd!"

BEACON = "Beacon Devices"
BEACON_PROFILE = OrgProfile(
    employees_band="50-249", revenue_band="10M-50M", device_classes=("II",), region="Europe"
)
_ACME = "acme"  # placeholders for the organisation names (Acme's comes from the demo spec)
_BEACON = "beacon"


@dataclass(frozen=True, slots=True)
class DemoAccount:
    email: str
    display_name: str
    role: str  # an organisation role (admin, assessor, viewer) or a platform role (steward, site_admin)
    organisation: str | None = None  # _ACME or _BEACON for organisation roles


DEMO_ACCOUNTS: tuple[DemoAccount, ...] = (
    DemoAccount("admin@acme.example", "Acme administrator (demo)", "admin", _ACME),
    DemoAccount("assessor@acme.example", "Acme assessor (demo)", "assessor", _ACME),
    DemoAccount("viewer@acme.example", "Acme viewer (demo)", "viewer", _ACME),
    DemoAccount("admin@beacon.example", "Beacon administrator (demo)", "admin", _BEACON),
    DemoAccount("steward@mdic.example", "Benchmark steward (demo)", "steward"),
    DemoAccount("siteadmin@medcyber.example", "Site administrator (demo)", "site_admin"),
)


@dataclass(frozen=True, slots=True)
class DemoProduct:
    organisation: str  # _ACME or _BEACON
    name: str
    description: str
    versions: tuple[tuple[str, str], ...]  # (version, SBOM path relative to the shared data folder)


_CDX_EXAMPLES = "public CycloneDX example SBOM (CycloneDX/bom-examples, Apache-2.0)"
DEMO_PRODUCTS: tuple[DemoProduct, ...] = (
    DemoProduct(
        _ACME,
        "Connected medical device (anonymised)",
        "A real medical device's SBOM, anonymised by its source (the manufacturer, device name and "
        "version are redacted): CycloneDX 1.4, 55 components with declared support -- a Qualcomm "
        "Atheros Wi-Fi chip, NXP MCU SDK, wolfSSL and FatFS firmware, and a Windows companion "
        "application's .NET libraries. From the SBOM-completeness case study "
        "(spacelab-ccny/sbom-completeness, MIT). The version label is the SBOM's date.",
        (("2025.07", "sbom/medical-device-case-study/narrow.sbom.json"),),
    ),
    DemoProduct(
        _ACME,
        "Keycloak identity server",
        "Keycloak 10.0.2, the open-source identity and access management server (Java/Maven, about "
        f"900 components). Its SBOM is the {_CDX_EXAMPLES}: keycloak-10.0.2/bom.json.",
        (("10.0.2", "sbom/cyclonedx-examples/keycloak-10.0.2/bom.json"),),
    ),
    DemoProduct(
        _ACME,
        "Proton Mail Bridge",
        "Proton Mail Bridge, a desktop mail bridge written in Go (about 200 Go modules), in two "
        f"released versions. Its SBOMs are the {_CDX_EXAMPLES}: proton-bridge-v1.6.3 and v1.8.0.",
        (
            ("1.6.3", "sbom/cyclonedx-examples/proton-bridge/proton-bridge-v1.6.3.bom.json"),
            ("1.8.0", "sbom/cyclonedx-examples/proton-bridge/proton-bridge-v1.8.0.bom.json"),
        ),
    ),
    DemoProduct(
        _ACME,
        "OWASP Juice Shop",
        "OWASP Juice Shop 11.1.2, a deliberately insecure Node.js web shop used for security training "
        f"(about 840 npm packages). Its SBOM is the {_CDX_EXAMPLES}: juice-shop-v11.1.2/bom.json.",
        (("11.1.2", "sbom/cyclonedx-examples/juice-shop-v11.1.2/bom.json"),),
    ),
    DemoProduct(
        _BEACON,
        "Laravel web application",
        "Laravel 7.12.0, the PHP web application framework (about 60 Composer packages). Its SBOM is "
        f"the {_CDX_EXAMPLES}: laravel-7.12.0/bom.1.4.json.",
        (("7.12.0", "sbom/cyclonedx-examples/laravel-7.12.0/bom.1.4.json"),),
    ),
)

# (source, path relative to the shared data folder), imported in this order
VULN_SOURCES: tuple[tuple[str, str], ...] = (
    ("osv", "osv/pypi/vulns"),
    ("nvd", "nvd/cves"),
    ("kev", "kev/known_exploited_vulnerabilities.json"),
)


# --- where the data is ------------------------------------------------------------------------------


def _candidate_dirs() -> list[Path]:
    repo = Path(__file__).resolve().parents[3]  # <repo>/src/medcyber/services/demo.py (editable install)
    out = [repo.parent / "shared" / "data", Path.cwd().resolve().parent / "shared" / "data"]
    return list(dict.fromkeys(out))


def shared_data_dir() -> Path | None:
    """The shared data folder: ``$MEDCYBER_SHARED_DATA`` when set (and only then), else
    ``<repo>/../shared/data`` or ``<cwd>/../shared/data``; None when there is none."""
    configured = os.environ.get(SHARED_DATA_ENV, "").strip()
    if configured:
        path = Path(configured).expanduser()
        return path.resolve() if path.is_dir() else None
    for path in _candidate_dirs():
        if path.is_dir():
            return path
    return None


def _missing_data_message() -> str:
    configured = os.environ.get(SHARED_DATA_ENV, "").strip()
    if configured:
        return f"{SHARED_DATA_ENV}={configured} is not a directory"
    where = " or ".join(str(p) for p in _candidate_dirs())
    return f"no shared data folder at {where} (set {SHARED_DATA_ENV} to its path)"


# --- the demo ---------------------------------------------------------------------------------------


def load_demo(session: Session, *, data_dir: Path | None = None, portfolio: bool = True) -> dict[str, Any]:
    """Create or refresh the demo workspace. Idempotent: running it twice changes nothing.

    ``data_dir`` is the shared data folder (default: :func:`shared_data_dir`); ``portfolio=False`` loads
    only the benchmark part and the accounts."""
    bank = load_bank()
    cohort = bench_svc.create_cohort(
        session,
        DEMO_COHORT,
        title="Synthetic cohort calibrated to the MDIC/Booz Allen 2022 benchmark",
        description=(
            "SYNTHETIC data: 17 made-up respondents whose statistics reproduce the published 2022 "
            "aggregates (n, category means, composite, bins). No real manufacturer's answers."
        ),
        synthetic=True,
        make_default=True,
    )
    respondents = demo_cohort(bank)
    for r in respondents:
        bench_svc.add_submission(session, cohort, r.submission(bank), bank_version=bank.version)

    demo = acme_assessments(bank)
    acme = demo[-1]
    org = assess_svc.get_or_create_organisation(
        session, acme.organisation, acme.profile, benchmark_id=acme.submission_id
    )
    existing = {a.assessed_on for a in assess_svc.assessments_of(session, org)}
    for d in demo:
        if d.assessed_on in existing:
            continue
        assess_svc.record_assessment(
            session,
            org,
            d.answers,
            bank_version=bank.version,
            assessed_on=d.assessed_on,
            assessment_type=d.assessment_type,
            source="demo",
        )
    beacon = session.scalar(select(Organisation).where(Organisation.name == BEACON))
    if beacon is None:
        beacon = assess_svc.get_or_create_organisation(session, BEACON, BEACON_PROFILE)
    orgs = {_ACME: org, _BEACON: beacon}

    summary: dict[str, Any] = {
        "cohort": cohort.name,
        "submissions": len(respondents),
        "organisation": org.name,
        "assessments": len(demo),
        "synthetic": True,
        "organisations": [org.name, beacon.name],
    }
    if portfolio:
        data = data_dir if data_dir is not None else shared_data_dir()
        if data is None or not Path(data).is_dir():
            reason = _missing_data_message() if data is None else f"{data} is not a directory"
            summary["portfolio"] = {"skipped": f"device portfolio not loaded: {reason}"}
        else:
            summary["portfolio"] = load_portfolio(session, Path(data), orgs)
    else:
        summary["portfolio"] = {"skipped": "device portfolio not requested"}
    summary["accounts"] = ensure_accounts(session, orgs)
    return summary


def load_portfolio(session: Session, data: Path, orgs: dict[str, Organisation]) -> dict[str, Any]:
    """Import the vulnerability data and the demo SBOMs from ``data``, then bring the findings up to date.
    Returns what the demo organisations' portfolio holds (the same figures on every run)."""
    imported: list[dict[str, Any]] = []
    missing: list[str] = []
    for source, rel in VULN_SOURCES:
        path = (data / rel).resolve()
        if not path.exists():
            missing.append(rel)
            continue
        if _already_imported(session, source, path):
            continue
        for report in vulndb.import_paths(session, source, [path]):
            imported.append(
                {
                    "source": source,
                    "location": str(path),
                    "read": report.read,
                    "added": report.added,
                    "updated": report.updated,
                    "problems": len(report.problems),
                }
            )
    sboms_added = 0
    for item in DEMO_PRODUCTS:
        owner = orgs[item.organisation]
        present = [(v, data / rel) for v, rel in item.versions if (data / rel).is_file()]
        missing.extend(rel for _, rel in item.versions if not (data / rel).is_file())
        if not present:
            continue
        product = products_svc.get_or_create_product(
            session, item.name, organisation=owner.name, description=item.description
        )
        for version, path in present:
            pv = products_svc.get_or_create_version(session, product, version)
            raw = path.read_bytes()
            digest = hashlib.sha256(raw).hexdigest()
            stored = session.scalar(
                select(SbomRecord.id).where(SbomRecord.version_id == pv.id, SbomRecord.sha256 == digest)
            )
            if stored is None:
                products_svc.import_sbom(session, product, pv, raw, name=path.name)
                sboms_added += 1
    run: dict[str, Any] | None = None
    last = monitoring.latest_run(session)
    if (
        last is None
        or monitoring.pending_versions(session)
        or monitoring.changed_since(session, last.generation)
    ):
        result = monitoring.monitor(session)
        run = {"run_id": result.run_id, "new_findings": result.new_findings, "seconds": result.seconds}
    out: dict[str, Any] = dict(portfolio_counts(session, [o.id for o in orgs.values()]))
    out.update(
        data_dir=str(data),
        vulnerability_data=_vuln_counts(session),
        imported=imported,
        sboms_added=sboms_added,
        monitoring_run=run,
        missing=missing,
    )
    return out


def _already_imported(session: Session, source: str, path: Path) -> bool:
    """Whether this source was imported from this very place already (and, for a file, these bytes)."""
    q = select(VulnImportRow.sha256).where(
        VulnImportRow.source == source,
        VulnImportRow.location == str(path),
        VulnImportRow.finished_at.is_not(None),
    )
    digests = set(session.scalars(q))
    if not digests:
        return False
    if path.is_file():
        return hashlib.sha256(path.read_bytes()).hexdigest() in digests
    return True


def portfolio_counts(session: Session, organisation_ids: list[int]) -> dict[str, int]:
    """Products, versions, SBOMs, components and open findings (all, KEV-listed) of these organisations."""
    in_orgs = Product.organisation_id.in_(organisation_ids)
    products = session.scalar(select(func.count()).select_from(Product).where(in_orgs)) or 0
    versions = session.scalar(select(func.count()).select_from(ProductVersion).join(Product).where(in_orgs))
    sboms, components = session.execute(
        select(func.count(SbomRecord.id), func.coalesce(func.sum(SbomRecord.component_count), 0))
        .join(ProductVersion, ProductVersion.id == SbomRecord.version_id)
        .join(Product)
        .where(in_orgs)
    ).one()
    F = VersionFindingRow
    open_findings = (
        select(func.count())
        .select_from(F)
        .join(ProductVersion, ProductVersion.id == F.product_version_id)
        .join(Product)
        .where(in_orgs, F.resolved_at.is_(None))
    )
    findings = session.scalar(open_findings) or 0
    kev = session.scalar(open_findings.where(F.kev.is_(True))) or 0
    return {
        "products": int(products),
        "versions": int(versions or 0),
        "sboms": int(sboms),
        "components": int(components),
        "open_findings": int(findings),
        "kev_findings": int(kev),
    }


def _vuln_counts(session: Session) -> dict[str, int]:
    s = vulndb.stats(session)
    return {"osv": s["advisories"]["osv"], "nvd": s["advisories"]["nvd"], "kev": s["kev"]["entries"]}


def ensure_accounts(session: Session, orgs: dict[str, Organisation]) -> list[dict[str, Any]]:
    """Create the demo accounts that do not exist yet, with :data:`DEMO_PASSWORD` (no change required at
    sign-in). Existing accounts are left alone; ``password`` is None for one whose password was changed."""
    out: list[dict[str, Any]] = []
    for acc in DEMO_ACCOUNTS:
        user = accounts_svc.find_user(session, acc.email)
        created = user is None
        if user is None:
            user = accounts_svc.create_user(
                session,
                acc.email,
                display_name=acc.display_name,
                steward=acc.role == "steward",
                site_admin=acc.role == "site_admin",
            ).user
            accounts_svc.set_password(session, user, DEMO_PASSWORD)
            if acc.organisation is not None:
                accounts_svc.add_membership(session, user, orgs[acc.organisation], acc.role)
        still_demo = created or passwords.verify_password(user.password_hash, DEMO_PASSWORD)
        org = orgs[acc.organisation] if acc.organisation is not None else None
        out.append(
            {
                "email": user.email,
                "password": DEMO_PASSWORD if still_demo else None,
                "role": acc.role,
                "organisation": org.name if org is not None else None,
                "created": created,
            }
        )
    return out


def describe_account(account: dict[str, Any]) -> str:
    """``admin of Acme Medical``, ``benchmark steward``, ``site admin``."""
    role = str(account["role"])
    if account.get("organisation"):
        return f"{role} of {account['organisation']}"
    return {
        "steward": "benchmark steward (no organisation)",
        "site_admin": "site admin (no organisation)",
    }.get(role, role)
