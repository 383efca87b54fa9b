"""Computes the package list (the core, the reference detector and the command-line apps, each folder named as it
imports)."""
from setuptools import find_packages, setup

setup(packages=find_packages(include=["admfit", "admfit.*", "admfit_torch", "admfit_torch.*", "admfit_cli",
                                      "admfit_cli.*"]))
