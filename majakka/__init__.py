"""The `kb` command: above kb, ingest and api, it uses all three."""
