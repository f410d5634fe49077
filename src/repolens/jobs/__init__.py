"""Background jobs: the queue boundary, the run pipeline, outbox, reaper."""
