"""The ``kerascenes`` command-line interface (installed as ``kerascenes.cli``)."""
