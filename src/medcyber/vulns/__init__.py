"""Vulnerability intelligence: advisories (OSV, NVD), KEV, EPSS, version ordering and matching."""
