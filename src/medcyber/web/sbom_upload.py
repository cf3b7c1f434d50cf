"""SBOM uploads over HTTP (the pages and the API share this): a size cap, an untrusted file name, one
import through ``services.products.import_sbom`` and the refusal in a shape both can show.

The bytes are read with a cap (``MAX_UPLOAD_BYTES``, 50 MiB; the app refuses any body over 64 MiB before
this). Whether they are an SBOM is decided from the content by the SBOM reader, which refuses binary
files, HTML, XML with a DOCTYPE or entity declaration (billion laughs) and documents nested too deeply,
before anything is expanded or stored. An import is all or nothing; on a refusal the request's unit of
work is rolled back, so nothing of it is stored.
"""

import re
import unicodedata
from dataclasses import dataclass, field
from typing import BinaryIO

from sqlalchemy.orm import Session

from ..sbom.reader import Limits
from ..services import products as products_svc
from ..services.errors import ConflictError, ServiceError
from ..services.products import SbomImportError
from ..store.models import Organisation, Product, ProductVersion, SbomRecord

MAX_UPLOAD_BYTES = 50 * 1024 * 1024
MAX_PRODUCT_NAME = 200
MAX_VERSION = 100
MAX_PROBLEMS_SHOWN = 200
KINDS = products_svc.SBOM_KINDS


class UploadTooLarge(ServiceError):
    def __init__(self, limit: int = MAX_UPLOAD_BYTES):
        super().__init__(f"the file is larger than the upload limit of {limit // (1024 * 1024)} MiB")


@dataclass
class Problem:
    path: str
    message: str


@dataclass
class Refusal:
    """Why an upload was refused: HTTP status, the file, one message and the located problems."""

    status: int
    file_name: str
    message: str
    problems: list[Problem] = field(default_factory=list)
    more: int = 0  # problems not listed


def clean_file_name(name: str | None) -> str:
    """A display name from the client's file name: last path segment, no control characters, bounded."""
    text = (name or "").replace("\\", "/").rsplit("/", 1)[-1]
    text = "".join(ch for ch in text if unicodedata.category(ch)[0] != "C")
    text = re.sub(r"\s+", " ", text).strip().strip(".")
    return text[:200] or "upload"


def read_capped(stream: BinaryIO, limit: int = MAX_UPLOAD_BYTES) -> bytes:
    data = stream.read(limit + 1)
    if len(data) > limit:
        raise UploadTooLarge(limit)
    return data


def check_names(product: str, version: str) -> tuple[str, str]:
    product, version = product.strip(), version.strip()
    if not product:
        raise ServiceError("name the product the SBOM belongs to")
    if len(product) > MAX_PRODUCT_NAME:
        raise ServiceError(f"a product name is at most {MAX_PRODUCT_NAME} characters")
    if not version:
        raise ServiceError("name the product version the SBOM belongs to")
    if len(version) > MAX_VERSION:
        raise ServiceError(f"a product version is at most {MAX_VERSION} characters")
    return product, version


def store_sbom(
    db: Session,
    org: Organisation,
    product: Product | str,
    version: ProductVersion | str,
    data: bytes,
    *,
    file_name: str,
    kind: str = "software",
) -> SbomRecord:
    """Import one uploaded SBOM for a version of one of ``org``'s products (a product or version named
    but missing is created). Raises SbomImportError, ConflictError (same bytes already stored) or
    ServiceError; nothing is written unless every check passed."""
    if kind not in KINDS:
        raise ServiceError(f"the SBOM kind is one of {', '.join(KINDS)}")
    if isinstance(product, Product) and product.organisation_id != org.id:
        raise ServiceError("the product belongs to another organisation")  # callers resolve in-org
    return products_svc.import_sbom(
        db,
        product,
        version,
        data,
        name=file_name,
        kind=kind,
        organisation=org.name,
        limits=Limits(max_bytes=MAX_UPLOAD_BYTES),
    )


def refusal(exc: Exception, file_name: str) -> Refusal:
    """The refusal to show for an exception of :func:`store_sbom` or :func:`read_capped`."""
    if isinstance(exc, UploadTooLarge):
        return Refusal(413, file_name, str(exc))
    if isinstance(exc, SbomImportError):
        first = str(exc).split("\n", 1)[0]
        message = first.removeprefix(f"{exc.source}: ").removesuffix("; nothing was stored")
        if message.startswith(("is ", "could ")):
            message = "it " + message
        problems = []
        for text in exc.problems[:MAX_PROBLEMS_SHOWN]:
            path, sep, msg = text.partition(": ")
            problems.append(Problem(path, msg) if sep else Problem("", text))
        return Refusal(422, file_name, message, problems, max(0, len(exc.problems) - MAX_PROBLEMS_SHOWN))
    if isinstance(exc, ConflictError):
        return Refusal(409, file_name, str(exc).removeprefix(f"{file_name}: "))
    return Refusal(400, file_name, str(exc))
