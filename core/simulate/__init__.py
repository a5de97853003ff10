"""The instrument's digital twin: traces, movies and SEM images with their ground truth.

Every simulator takes a :class:`~core.simulate.physics.PlatingPhysics` and a ``seed`` so that a
simulated spot is reproducible and its curve, movie and SEM image agree.
"""
