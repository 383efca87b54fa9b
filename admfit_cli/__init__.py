"""Command-line front ends (installed as the `admfit_cli` package)."""
