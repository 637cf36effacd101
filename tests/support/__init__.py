"""Helpers shared by the tests (on the pytest pythonpath): ``from support.elf_fixtures import ...``."""
