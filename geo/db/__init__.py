"""The database: engine and sessions (engine.py), the migrations runner (migrate.py), backups (backup.py)."""
