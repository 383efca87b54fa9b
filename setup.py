"""Computes the package list: `cli/` installs as `admfit_cli` so it cannot collide with other `cli` packages."""
from setuptools import find_packages, setup

core = find_packages(include=["admfit", "admfit.*", "admfit_torch", "admfit_torch.*"])
cli = ["admfit_cli" + name[len("cli"):] for name in find_packages(include=["cli", "cli.*"])]
setup(packages=core + cli, package_dir={"admfit_cli": "cli"})
