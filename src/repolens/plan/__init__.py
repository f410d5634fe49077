"""Plan and roadmap Markdown checklists turned into progress."""
