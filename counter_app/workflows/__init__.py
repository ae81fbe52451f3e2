"""Use cases: decide on fresh data and write, in one transaction.

Each workflow opens one write transaction, locks the person it acts for (PostgreSQL: the person's
row, ``SELECT … FOR UPDATE``; SQLite: ``BEGIN IMMEDIATE`` holds the file's write lock), re-reads
what the rules need (the person's filings, a claim's year-to-date figures), asks the engine and
writes record + history + audit + outbox through ``counter_app.storage``. The UI, the command line
and the sync pass what the clerk chose and the verdict the clerk saw; when the fresh verdict
differs, nothing is written and the clerk gets a Chinese message saying what changed. The rules
decide what may coexist (多地备案, temporary filings to different places, expiry by date); the lock
makes the re-decision see every earlier commit for the person.

Layering (``lint-imports``): above ``storage`` and ``domain``, below ``sync``, ``ui`` and ``cli``.
"""
