"""Settings shared by every test package: tests/core (torch-free), tests/cli (the typer apps), tests/torch."""
