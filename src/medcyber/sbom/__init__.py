"""SBOMs: reading CycloneDX and SPDX into one normalised model, validation, quality, export, diff."""
