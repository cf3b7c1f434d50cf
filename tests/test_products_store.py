"""Products, versions and SBOMs in the store (SQLite and PostgreSQL): migrations, transactional import,
exact rebuild of the normalised SBOM from rows, and the `product` / `sbom import|list` commands."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from sqlalchemy import delete, func, inspect, select
from typer.testing import CliRunner

from medcyber.sbom.model import ComponentType
from medcyber.sbom.reader import read_sbom
from medcyber.services import products as svc
from medcyber.services.assessments import get_or_create_organisation
from medcyber.services.errors import ConflictError, NotFoundError, ServiceError
from medcyber.store import Store
from medcyber.store.models import (
    Organisation,
    Product,
    ProductVersion,
    SbomComponentRow,
    SbomDependencyRow,
    SbomRecord,
)
from sbom_store_cli import cli_app

SBOM_TABLES = {"products", "product_versions", "sboms", "sbom_components", "sbom_dependencies"}


@pytest.fixture(scope="module")
def medical(shared_data: Path) -> Path:
    return shared_data / "sbom" / "medical-device-case-study" / "narrow.sbom.json"


@pytest.fixture(scope="module")
def keycloak(shared_data: Path) -> Path:
    return shared_data / "sbom" / "cyclonedx-examples" / "keycloak-10.0.2" / "bom.json"


def count(session, model) -> int:  # type: ignore[no-untyped-def]
    return session.scalar(select(func.count()).select_from(model))


# --- migrations ------------------------------------------------------------------------------------


def test_migration_0002_upgrades_and_downgrades(store_url: str) -> None:
    s = Store(store_url)
    s.upgrade()
    assert s.current_revision() == s.head_revision()
    insp = inspect(s.engine)
    assert set(insp.get_table_names()) >= SBOM_TABLES
    indexes = {ix["name"] for ix in insp.get_indexes("sbom_components")}
    assert {"ix_sbom_components_purl", "ix_sbom_components_name_version"} <= indexes
    s.downgrade("0001")
    tables = set(inspect(s.engine).get_table_names())
    assert not SBOM_TABLES & tables
    assert {"organisations", "assessments"} <= tables  # 0001 untouched
    s.upgrade()
    assert set(inspect(s.engine).get_table_names()) >= SBOM_TABLES
    s.downgrade("base")
    assert s.current_revision() is None
    s.dispose()


# --- products and versions -------------------------------------------------------------------------


def test_products_belong_to_organisations(store: Store) -> None:
    with store.session() as session:
        # no organisation yet: a default one is created for the first product
        first = svc.create_product(session, "Pump", description="Infusion pump", device_class="II")
        assert first.organisation.name == svc.DEFAULT_ORGANISATION
        # exactly one organisation: products go to it
        assert svc.create_product(session, "Monitor").organisation.name == svc.DEFAULT_ORGANISATION
        with pytest.raises(ConflictError, match="already has a product named 'Pump'"):
            svc.create_product(session, "Pump")
        get_or_create_organisation(session, "Other Medical")
        # several organisations: the owner must be named for a new product
        with pytest.raises(ServiceError, match="several organisations"):
            svc.create_product(session, "Ventilator")
        svc.create_product(session, "Pump", organisation="Other Medical")
    with store.session() as session:
        with pytest.raises(ServiceError, match="several organisations have a product named 'Pump'"):
            svc.find_product(session, "Pump")
        assert (
            svc.find_product(session, "Pump", organisation="Other Medical").organisation.name
            == "Other Medical"
        )
        with pytest.raises(NotFoundError, match="did you mean 'Monitor'"):
            svc.find_product(session, "Monitr")
        names = [(p.name, p.organisation.name) for p in svc.list_products(session)]
        default = svc.DEFAULT_ORGANISATION
        assert names == [("Monitor", default), ("Pump", default), ("Pump", "Other Medical")]
        assert [p.name for p in svc.list_products(session, organisation="Other Medical")] == ["Pump"]
        monitor = svc.find_product(session, "Monitor")
        v1 = svc.get_or_create_version(session, monitor, "1.0")
        assert svc.get_or_create_version(session, monitor, "1.0").id == v1.id
        with pytest.raises(NotFoundError, match="known versions: 1.0"):
            svc.find_version(session, monitor, "2.0")


# --- import ----------------------------------------------------------------------------------------


def test_medical_device_sbom_round_trips_through_the_store(store: Store, medical: Path) -> None:
    read = read_sbom(medical).sbom
    assert read is not None
    with store.session() as session:
        rec = svc.import_sbom(session, "Connected device", "3.1", medical, organisation="Case Study Inc")
        sbom_id = rec.id
        assert (rec.valid, rec.format, rec.spec_version, rec.kind) == (
            True,
            "cyclonedx",
            read.document.spec_version,
            "software",
        )
        assert rec.component_count == 55
    with store.session() as session:
        loaded = svc.load_sbom(session, sbom_id)
        rec = svc.get_sbom_record(session, sbom_id)
        assert svc.original_bytes(rec) == medical.read_bytes()
        assert rec.sha256 == hashlib.sha256(medical.read_bytes()).hexdigest()
        assert len(rec.content_gz) < rec.size  # compressed
    assert loaded.components == read.components  # every field, declared support included
    assert loaded.dependencies == read.dependencies
    assert loaded.primary_component == read.primary_component
    assert loaded.document == read.document
    # the author's words are kept verbatim
    texts = {c.support.end_of_support_text for c in loaded.components if c.support}
    assert "Until hardware support ends" in texts


def test_keycloak_imports_903_components_with_its_graph(store: Store, keycloak: Path) -> None:
    read = read_sbom(keycloak).sbom
    assert read is not None and len(read.components) == 903
    with store.session() as session:
        rec = svc.import_sbom(session, "Keycloak", "10.0.2", keycloak, organisation="Red Hat")
        sbom_id = rec.id
    with store.session() as session:
        assert count(session, SbomComponentRow) == 904  # 903 + the primary component
        edges = sum(max(len(t), 1) for t in read.dependencies.values())
        assert count(session, SbomDependencyRow) == edges
        loaded = svc.load_sbom(session, sbom_id)
        assert loaded.components == read.components
        assert loaded.dependencies == read.dependencies
        assert loaded.primary_component == read.primary_component
        # the purl index answers "which stored versions contain this package"
        purl = "pkg:maven/org.keycloak/keycloak-core@10.0.2?type=jar"
        hits = session.scalars(select(SbomComponentRow.sbom_id).where(SbomComponentRow.purl == purl)).all()
        assert hits == [sbom_id]
        members = svc.version_components(session, "Keycloak", "10.0.2")
        assert len(members) == 903 and {m.kind for m in members} == {"software"}


def test_same_bytes_twice_is_refused_and_a_failed_import_leaves_nothing(store: Store, medical: Path) -> None:
    data = medical.read_bytes()
    # one unit of work: product, version and first SBOM are created, then the duplicate fails -> all gone
    with (
        pytest.raises(ConflictError, match="already stored for Fresh product 1.0"),
        store.session() as session,
    ):
        svc.import_sbom(session, "Fresh product", "1.0", data, name="a.json")
        svc.import_sbom(session, "Fresh product", "1.0", data, name="b.json")
    with store.session() as session:
        assert count(session, Product) == 0
        assert count(session, ProductVersion) == 0
        assert count(session, SbomRecord) == 0
        assert count(session, SbomComponentRow) == 0
    # committed first import; the duplicate in a later transaction is refused, the first stays
    with store.session() as session:
        svc.import_sbom(session, "Fresh product", "1.0", data, name="a.json")
    with pytest.raises(ConflictError, match=r"SBOM #\d+ \(a.json\)"), store.session() as session:
        svc.import_sbom(session, "Fresh product", "1.0", data, name="again.json")
    with store.session() as session:
        assert count(session, SbomRecord) == 1
        # the same document under another version is a different record
        svc.import_sbom(session, "Fresh product", "1.1", data, name="a.json")
    with store.session() as session:
        assert count(session, SbomRecord) == 2
        assert count(session, SbomComponentRow) == 2 * 56


def test_invalid_sbom_is_refused_with_its_problems_unless_lenient(store: Store, shared_data: Path) -> None:
    bad = shared_data / "sbom" / "cyclonedx-spec-tests" / "1.6" / "invalid-hash-alg-1.6.json"
    with pytest.raises(svc.SbomImportError) as err, store.session() as session:
        svc.import_sbom(session, "Broken", "1", bad)
    message = str(err.value)
    assert message.startswith("invalid-hash-alg-1.6.json: is not a valid CycloneDX 1.6 document")
    assert "/components/0/hashes/0/alg" in message and "nothing was stored" in message
    with store.session() as session:
        assert count(session, Product) == 0 and count(session, Organisation) == 0
    with store.session() as session:
        rec = svc.import_sbom(session, "Broken", "1", bad, lenient=True)
        assert rec.valid is False
        assert any("/components/0/hashes/0/alg" in e for e in rec.errors)
        sbom_id = rec.id
    with store.session() as session:
        assert len(svc.load_sbom(session, sbom_id).components) == 1


def test_lenient_import_records_what_was_dropped(store: Store, shared_data: Path) -> None:
    bad = shared_data / "sbom" / "cyclonedx-spec-tests" / "1.6" / "invalid-dependency-1.6.json"
    with store.session() as session:
        rec = svc.import_sbom(session, "Graph", "1", bad, lenient=True)
        assert rec.dropped and all("dependency without a ref" in d for d in rec.dropped)


def test_unreadable_input_is_refused_cleanly(store: Store, tmp_path: Path) -> None:
    pdf = tmp_path / "scan.json"
    pdf.write_bytes(b"%PDF-1.7 not an SBOM")
    with pytest.raises(svc.SbomImportError, match="scan.json: .*PDF"), store.session() as session:
        svc.import_sbom(session, "X", "1", pdf)
    with pytest.raises(ServiceError, match="kind must be one of"), store.session() as session:
        svc.import_sbom(session, "X", "1", pdf, kind="cloud")
    with store.session() as session:
        assert count(session, Product) == 0


def test_several_sboms_of_a_version_merge_under_the_device(
    store: Store, medical: Path, shared_data: Path
) -> None:
    firmware = Path(__file__).parent / "data" / "spdx" / "infusion-pump-firmware-2.3.spdx.json"
    with store.session() as session:
        svc.import_sbom(session, "Pump", "2.0", medical, organisation="Acme Medical")
        svc.import_sbom(session, "Pump", "2.0", firmware, kind="firmware")
    with store.session() as session:
        merged = svc.version_sbom(session, "Pump", "2.0")
        only_fw = svc.version_sbom(session, "Pump", "2.0", kind="firmware")
        with pytest.raises(NotFoundError, match="no hardware SBOM"):
            svc.version_sbom(session, "Pump", "2.0", kind="hardware")
    fw = read_sbom(firmware).sbom
    assert fw is not None
    assert merged.primary_component is not None
    assert merged.primary_component.type is ComponentType.DEVICE
    assert (merged.primary_component.name, merged.primary_component.version) == ("Pump", "2.0")
    refs = [c.ref for c in merged.components]
    assert len(refs) == len(set(refs))
    extra = 1 if fw.primary_component is not None and fw.primary_component.ref not in fw.by_ref() else 0
    assert len(merged.components) == 55 + 1 + len(fw.components) + extra  # + the medical SBOM's primary
    assert len(merged.dependencies[merged.document.primary or ""]) == 2
    assert [c.name for c in only_fw.components] == [c.name for c in fw.components]


def test_deleting_an_organisation_cascades_to_every_sbom_row(store: Store, medical: Path) -> None:
    with store.session() as session:
        svc.import_sbom(session, "Pump", "1.0", medical, organisation="Gone Medical")
    with store.session() as session:  # a database-level delete: ON DELETE CASCADE does the work
        session.execute(delete(Organisation).where(Organisation.name == "Gone Medical"))
    with store.session() as session:
        for model in (Product, ProductVersion, SbomRecord, SbomComponentRow, SbomDependencyRow):
            assert count(session, model) == 0, model.__tablename__


# --- command line ----------------------------------------------------------------------------------

runner = CliRunner()


@pytest.fixture
def cli(store_url: str):  # type: ignore[no-untyped-def]
    app = cli_app()

    def invoke(*args: str):  # type: ignore[no-untyped-def]
        return runner.invoke(
            app, list(args), env={"MEDCYBER_DATABASE_URL": store_url}, catch_exceptions=False
        )

    return invoke


def test_cli_products_and_import(cli, medical: Path, shared_data: Path) -> None:  # type: ignore[no-untyped-def]
    r = cli(
        "product", "add", "Pump", "--org", "Acme Medical", "--device-class", "II", "--description", "Infusion"
    )
    assert r.exit_code == 0, r.output
    r = cli("product", "add", "Pump", "--org", "Acme Medical")
    assert r.exit_code == 1 and "already has a product named 'Pump'" in r.output
    r = cli("sbom", "import", str(medical), "--product", "Pump", "--version", "1.0", "--json")
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    assert (out["product"], out["version"], out["components"], out["valid"]) == ("Pump", "1.0", 55, True)
    # the same file again: refused, exit 1, a message naming the file, no traceback
    r = cli("sbom", "import", str(medical), "--product", "Pump", "--version", "1.0")
    assert r.exit_code == 1 and "narrow.sbom.json" in r.output and "already stored" in r.output
    assert "Traceback" not in r.output
    bad = shared_data / "sbom" / "cyclonedx-spec-tests" / "1.6" / "invalid-component-type-1.6.json"
    r = cli("sbom", "import", str(bad), "--product", "Pump", "--version", "1.1")
    assert (
        r.exit_code == 1
        and "invalid-component-type-1.6.json" in r.output
        and "/components/0/type" in r.output
    )
    r = cli("product", "versions", "Pump", "--json")
    versions = json.loads(r.stdout)["versions"]
    assert [v["version"] for v in versions] == ["1.0"]  # the failed import created no version 1.1
    r = cli(
        "sbom", "import", str(bad), "--product", "Pump", "--version", "1.1", "--kind", "firmware", "--lenient"
    )
    assert r.exit_code == 0 and "stored leniently" in r.output
    r = cli("sbom", "list", "--product", "Pump", "--json")
    listed = json.loads(r.stdout)["sboms"]
    assert [(s["version"], s["kind"], s["valid"]) for s in listed] == [
        ("1.0", "software", True),
        ("1.1", "firmware", False),
    ]
    r = cli("product", "list", "--json")
    assert json.loads(r.stdout)["products"] == [
        {
            "name": "Pump",
            "organisation": "Acme Medical",
            "description": "Infusion",
            "device_class": "II",
            "versions": ["1.0", "1.1"],
        }
    ]
    r = cli("product", "versions", "Pump")
    assert r.exit_code == 0 and "1.1" in r.output
    r = cli("sbom", "import", "/nonexistent/x.json", "--product", "Pump", "--version", "1")
    assert r.exit_code == 1 and "no such file" in r.output
    r = cli("product", "versions", "Pmp")
    assert r.exit_code == 1 and "did you mean 'Pump'" in r.output
