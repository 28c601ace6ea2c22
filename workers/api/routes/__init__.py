"""The API's routes, one module per group; each exposes ``router``."""
