"""Customer accounts: passwordless sign-in by emailed link, guest sessions, sign-out (docs/accounts.md).

- `service`: the rules (links, throttling, sessions, merging a guest's cart into the account's).
- `api`: the JSON routes the order service serves under /api/.
- `pages`: the HTML sign-in pages, which the order service serves at /account/*.
- `csrf`: the double-submit token the pages' forms carry.
"""
