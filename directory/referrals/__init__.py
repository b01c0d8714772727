"""Social workers refer clients to services: /<lang>/referrals/."""
