"""The composition root: wires settings, the ledger, the rules and the service layer; the CLI."""
