"""Subcommands of the ``pyfastnn`` command, one module each.

Every module has ``register(subparsers)``, which adds its parser and sets
``run`` (called with the parsed arguments, returning the exit code).
"""
