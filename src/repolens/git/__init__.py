"""Git: the single subprocess wrapper, the mirror cache and checkouts."""
