"""Group review of runs and spots: comments, flags, exclusions, run tags and notes, activity.

Every change goes through a service here that takes ``(url, actor, ...)``, authorizes the
actor first (:func:`core.auth.guard.authorize`: commenting needs ``COMMENT``, which viewers
hold; flags, exclusions, tags and notes need ``REVIEW``, operator or above), then writes and
records an allowed audit event naming the run and spot, which is the run's activity feed.
"""
