"""django-q2 entry points of the integrations app: fetch by id, call a service, nothing else."""
