"""SLURM test tier (a package, so its conftest does not shadow tests/conftest.py as module `conftest`)."""
