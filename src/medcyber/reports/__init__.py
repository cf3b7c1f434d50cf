"""Benchmark reports: charts, the organisation report, the steward's cohort report and their renderers."""
