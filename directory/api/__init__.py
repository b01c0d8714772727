"""The public read-only JSON API under /api/: Open Referral HSDS 3.0."""
