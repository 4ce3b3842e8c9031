"""ETL service: MariaDB bookings + PostgreSQL replica users → star schema in a warehouse, and reports.

A command-line process, not a web service: `python -m etl_service migrate|run [--full]|schedule|report`.
Nothing connects at import time.
"""
