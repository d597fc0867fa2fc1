"""The ledger's storage adapter: SQLite and PostgreSQL behind the core's Ledger port."""
