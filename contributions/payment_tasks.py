"""Celery tasks of one contribution feature (explicit names under contributions.tasks.*)."""
