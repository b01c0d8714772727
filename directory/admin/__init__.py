"""Administrators: accounts, editors, taxonomy, review queue, audit log: /<lang>/admin/."""
