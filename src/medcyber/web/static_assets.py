"""Front-end assets. htmx comes from the npm registry at set-up (``make install`` runs
``python -m medcyber.web.static_assets``): a pinned version whose tarball must match the registry's
published sha512 integrity, unpacked into ``static/vendor/``. Nothing is fetched at run time and no
page loads anything from a CDN; without htmx the pages still work as plain forms."""

import base64
import hashlib
import io
import sys
import tarfile
import urllib.request
from pathlib import Path

HTMX_VERSION = "2.0.8"
HTMX_TARBALL = f"https://registry.npmjs.org/htmx.org/-/htmx.org-{HTMX_VERSION}.tgz"
HTMX_INTEGRITY = (
    "sha512-fm297iru0iWsNJlBrjvtN7V9zjaxd+69Oqjh4F/Vq9Wwi2kFisLcrLCiv5oBX0KLfOX/zG8AUo9ROMU5XUB44Q=="
)
VENDOR = Path(__file__).parent / "static" / "vendor"
HTMX_FILE = VENDOR / "htmx.min.js"
_MAX_TARBALL = 5 * 1024 * 1024


def htmx_available() -> bool:
    return HTMX_FILE.is_file()


def _check_integrity(data: bytes, integrity: str) -> None:
    algo, _, expected = integrity.partition("-")
    digest = base64.b64encode(hashlib.new(algo, data).digest()).decode("ascii")
    if digest != expected:
        raise RuntimeError(
            f"htmx.org {HTMX_VERSION} tarball does not match its registry integrity {integrity}"
        )


def install_htmx(tarball: bytes | None = None) -> Path:
    """Download (or take) the htmx.org tarball, verify it, and unpack dist/htmx.min.js and its licence."""
    if tarball is None:
        with urllib.request.urlopen(HTMX_TARBALL, timeout=60) as resp:  # noqa: S310 (fixed https URL)
            tarball = resp.read(_MAX_TARBALL + 1)
        if len(tarball) > _MAX_TARBALL:
            raise RuntimeError("htmx tarball is unexpectedly large")
    _check_integrity(tarball, HTMX_INTEGRITY)
    VENDOR.mkdir(parents=True, exist_ok=True)
    with tarfile.open(fileobj=io.BytesIO(tarball), mode="r:gz") as tar:
        for member, target in (
            ("package/dist/htmx.min.js", HTMX_FILE),
            ("package/LICENSE", VENDOR / "htmx.LICENSE"),
        ):
            f = tar.extractfile(member)
            if f is None:
                raise RuntimeError(f"{member} missing from the htmx.org tarball")
            target.write_bytes(f.read())
    return HTMX_FILE


def main() -> int:
    if htmx_available() and "--force" not in sys.argv:
        print(f"htmx {HTMX_VERSION} already installed at {HTMX_FILE}")
        return 0
    try:
        path = install_htmx()
    except Exception as exc:  # noqa: BLE001 (set-up script: report and fail)
        print(f"could not install htmx {HTMX_VERSION} from the npm registry: {exc}", file=sys.stderr)
        return 1
    print(f"installed htmx {HTMX_VERSION} ({HTMX_INTEGRITY[:20]}...) at {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
