"""Live updates over HTTP: the WebSocket protocol and paths, and the same
channels as server-sent events."""
