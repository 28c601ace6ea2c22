"""The archive: the catalog (cards, their numbering, the input ledger, audit trail, outbox,
review queue, correspondents directory, change feed, API accounts and webhooks) and the
content-addressed blob store.

Modules: ``blobs`` (the ``BlobStore`` protocol, ``FileBlobStore``, ``copy_to``), ``db``
(engines, transactions, migrations), ``tables`` (the schema), ``model`` (drafts and rows),
``catalog`` (a package: one protocol per concern and ``Catalog``, which implements them all),
and its helpers ``numbering``, ``registration``, ``changes`` (card updates), ``events`` (the
change feed's commit-ordered sequence), ``cursors`` (paging cursors), ``rows`` and ``drafting``
(a card drafted from a classified document); ``errors``.
"""
