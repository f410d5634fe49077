"""The `repolens` command line."""
