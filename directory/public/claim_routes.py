"""(issue 19) Views added here register on the package's blueprint."""

from . import bp  # noqa: F401
