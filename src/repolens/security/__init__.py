"""Guards for what comes from outside: which repositories may be fetched, where
outgoing requests may go, and the keys that keep stored secrets. docs/security.md
says what each guard stops and which settings relax it."""
