"""The console's screens: the main panes and the views pushed over them."""
