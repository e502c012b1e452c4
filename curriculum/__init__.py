"""ML System Design Lab: the library the course notebooks and the ``mlsd`` command use."""

__version__ = "0.1.0"
