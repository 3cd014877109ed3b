"""Distribution protocol client: references, auth, manifests, blobs, tags, catalog."""
