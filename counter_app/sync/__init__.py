"""End-of-day sync with the provincial store: client, offline files, reference server."""
