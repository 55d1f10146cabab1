"""The exporter's two kinds of failure, so the CLI can exit as the package's commands do."""


class UsageError(Exception):
    """Bad input named by the user (a missing file, a wrong option, a config field): exit 2."""


class ExportError(Exception):
    """The export ran but produced something that must not be used (parity, verification): exit 1."""
