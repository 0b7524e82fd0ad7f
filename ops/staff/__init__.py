"""The staff directory, run by an operator: `python -m ops.staff --help`.

Importing this package does no work; the command line is in `ops.staff.cli`.
"""
