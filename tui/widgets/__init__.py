"""The console's widgets: panes, tables, feeds and small displays."""
