"""Live updates: typed events, the hub that carries them, and the endpoints that deliver them."""
