"""Every file under /work/shared/data/sbom/ is handled as the reader's contract says."""

from __future__ import annotations

from pathlib import Path

import pytest

from medcyber.sbom.model import SbomError
from medcyber.sbom.reader import iter_sbom_files, read_sbom

DATA = Path("/work/shared/data/sbom")
FILES = sorted(iter_sbom_files([DATA]))


def _id(path: Path) -> str:
    return str(path.relative_to(DATA))


def test_corpus_is_complete() -> None:
    spec = [p for p in FILES if "cyclonedx-spec-tests" in p.parts]
    folders = {p.parent.name for p in spec}
    assert folders == {"1.0", "1.1", "1.2", "1.3", "1.4", "1.5", "1.6", "1.7", "ext"}
    assert len(FILES) > 990


@pytest.mark.parametrize("path", FILES, ids=_id)
def test_file_handled(path: Path) -> None:
    name = path.name
    if path.suffix == ".textproto":
        # CycloneDX protobuf text format: refused plainly, never a traceback.
        with pytest.raises(SbomError, match="textproto"):
            read_sbom(path)
        return
    result = read_sbom(path)
    in_spec_tests = "cyclonedx-spec-tests" in path.parts
    if in_spec_tests and "invalid" in name:
        assert not result.valid, f"{name} should be invalid"
        assert result.errors and all(e.message for e in result.errors)
    else:
        assert result.valid, [str(e) for e in result.errors[:5]]
        assert not result.errors
        assert result.sbom is not None
        assert result.format == "cyclonedx"
        assert result.sbom.document.spec_version == result.spec_version
        refs = [c.ref for c in result.sbom.components]
        assert len(refs) == len(set(refs)), "component refs must be unique in a valid document"
        # Valid documents need no repair and drop nothing named.
        assert result.dropped == []
    if in_spec_tests:
        version = path.parent.name
        if version != "ext":
            assert result.spec_version in (version, "")
