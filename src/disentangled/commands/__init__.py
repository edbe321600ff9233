"""One module per command of the ``disentangled`` CLI (discovered automatically)."""
