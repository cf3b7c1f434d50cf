"""The demo workspace: a synthetic cohort calibrated to the published 2022 benchmark, and Acme Medical."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from ..benchmark.demo import acme_assessments, demo_cohort
from ..maturity.bank import load_bank
from . import assessments as assess_svc
from . import benchmark as bench_svc

DEMO_COHORT = "mdic-2022-synthetic"


def load_demo(session: Session) -> dict[str, Any]:
    """Create or refresh the demo cohort and Acme Medical. Idempotent: running it twice changes nothing."""
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
    return {
        "cohort": cohort.name,
        "submissions": len(respondents),
        "organisation": org.name,
        "assessments": len(demo),
        "synthetic": True,
    }
