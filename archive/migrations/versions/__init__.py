"""Catalog migrations, one module per revision, written by hand."""
