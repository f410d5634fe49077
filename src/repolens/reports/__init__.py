"""Reports: one `Report` document, rendered as JSON, Markdown, SARIF, HTML or PDF."""
