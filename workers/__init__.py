"""Celery app, acquisition engine and instruments. Talks to hardware; the web never does."""
