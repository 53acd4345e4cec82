"""The collection round around a merge: the roster of units expected, prefilled workbooks, who has
reported, reminders, the bureau's own ledger and last year's roll-up (issue 17)."""
