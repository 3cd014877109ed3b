"""Modal dialogs: confirm, run, tag, engine picker, registry add and log in, shell choice."""
