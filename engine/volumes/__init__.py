"""Named volumes: engine-managed folders under ``<root>/volumes``, outliving containers."""
