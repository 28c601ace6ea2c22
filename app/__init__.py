"""The application layer: every operation a person or a system performs, as one typed function.

The command line (workers/cli.py and its command modules), the HTTP API and the dramatiq actors
all call these functions and present their typed results; none of them reaches the catalog, the
blob store or the index another way, so their behaviour cannot drift apart.

    settings.py     Settings, read once by the entry point
    services.py     the collaborators, each built on first use (no OCR engine for a catalog query)
    pipeline.py     a file's life: intake, recognition → classification → registration, finalising
    indexing.py     the outbox applied to the search index
    intake.py       ingest paths now (``kartoteka ingest``)
    records.py      cards, the ledger and batches
    searching.py    search and reindex
    review.py       the review queue, corrections and the organisations directory
    verifying.py    fixity and consistency checks

Errors are the stages' own tree (ingest/errors.py): PermanentError (reject: a 4xx, exit 1),
TransientError (retry: a 503, exit 4), ConfigurationError (fix the installation: exit 3).
"""
