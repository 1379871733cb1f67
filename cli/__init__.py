"""The `gridgov` command: argparse -> one domain call each (main.py; accounts and backups in access.py,
the holiday calendar in calendar.py). It imports geo, and api only to serve."""
