"""The analyzers that ship with repolens, each wrapping one real tool."""
