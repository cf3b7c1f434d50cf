"""Application services: what the CLI, the web pages and the JSON API all call.

They join the pure domain packages (maturity, benchmark, reports) with the store; each function takes
an SQLAlchemy session, so the caller decides the unit of work (one transaction per command/request).
"""
