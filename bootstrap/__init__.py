"""Lets tests and tools import `bootstrap.ci_access` from the repository root.

The CLI runs `bootstrap/__main__.py` with `bootstrap/` first on `sys.path`, so the program imports
`ci_access` by its top-level name; the package's modules import each other relatively, which works
under both names (the policy pack does the same).
"""
