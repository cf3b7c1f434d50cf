"""The `medcyber` command line (Typer)."""
