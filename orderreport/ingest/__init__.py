"""The write side: the public endpoints, their checks, and recording orders and event records.

Requests come in through `wsgi.py` (production) or `views.py` (the URLconf), pass the
contract's checks in `http.py` (body size, key, Origin, domain, JSON, fields: `schemas.py`;
the key from the cache: `lookup.py`, `admission.py`), and hand what they accepted to
`record.py`, which builds a typed row (`rows.py`) and gives it to this process's batch writer
(`writer.py`). The writer runs the recording rules below for a whole batch in one transaction,
with the statement of the database in use beside them: `postgres.py` (set-based, one round
trip) and `sqlite.py` (the same rules item by item under SQLite's single writer). Nothing
outside this package records an order or an event, and nothing below it imports it.

The recording rules. Each item of a batch is decided in arrival order, as if alone, against
what is committed plus what the batch recorded before it; the first rule that applies decides:

    rule            when                                         outcome (answer)
    --------------  -------------------------------------------  ---------------------------
    own row         a row with this item's tag exists (a retry   CREATED (201, that row);
                    after a lost connection)                     nothing more is written
    key gone        the API key is deleted or inactive, or its   KEY_GONE (401 Invalid API
                    project or account is gone                   key)
    event gone      events: the event is no longer in the        EVENT_GONE (401 Invalid
                    key's project                                event key)
    event inactive  events: the event was deactivated            EVENT_INACTIVE (401 Event
                                                                 is not active)
    limit           orders: the account's orders in the order's  LIMIT_REACHED (402); the
                    billing period >= its plan's monthly limit   order is held (below)
    duplicate       orders: the project has an order with this   DUPLICATE (409)
                    id, stored or earlier in the batch
    record          otherwise                                    CREATED (201)
    --------------  -------------------------------------------  ---------------------------

A refused item consumes no quota and is neither notified nor counted. Rule "limit" alone
writes something: the order, if its id is neither stored nor stored by this batch, is held
(accounts.HeldOrder, unique per project and id: a retry keeps the first copy) until the end of
its period plus HELD_ORDER_DAYS; no list, report or notification sees it. "record" takes the
held copy of the id it stores (a retry once there is room gets 201 with its own payload, and
409 after that); a plan change releases held orders through these same rules (ingest/held.py),
with no API key (`key_id` None: "key gone" is not checked), as orders of the current period.
Every other refusal writes nothing. "record" writes the row and, in the
same transaction: for an order, +1 on the period's usage and one outbox delivery per active
channel of the project that receives orders; for an event record, one delivery per active
channel that chose the event. When an order takes the period's usage across 80% or 100% of
the limit, one limit warning per (account, period, threshold) is written, with a delivery to
each active channel of the account that receives limits and one to the owner by e-mail.

The integration page's test order (`is_test`: its X-OrderReport-Test header is the mark only
this server makes, projects/testmark.py) checks the integration, not the quota: "limit" does
not apply to it (never refused for the quota, never held), and "record" stores it flagged and
queues its deliveries but adds nothing to the usage, the limit warnings or the tallies.

"limit" comes before "duplicate": the contract answers 402 before 409. The billing period is
the account's month containing the day the order was received (UTC); an unlimited plan has
no limit. One contract test suite (tests/ingest/test_rules.py) runs every rule on both
databases.
"""
