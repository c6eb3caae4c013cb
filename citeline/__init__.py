"""Citeline: answers about clinical guidelines in which every sentence is cited."""

# Importing the package changes nothing in the process: the entry points set the offline
# environment (`citeline.environment`).

__version__ = "0.1.0"
