"""The archive: the catalog (cards, their numbering, the input ledger, audit trail and outbox)
and the content-addressed blob store.

Modules: ``blobs`` (``FileBlobStore``), ``db`` (engines, transactions, migrations),
``tables`` (the schema), ``model`` (drafts and rows), ``catalog`` (``Catalog``), and its
helpers ``numbering``, ``registration``, ``changes`` (card updates) and ``rows``; ``errors``.
"""
