"""Data: the messages workflows and activities exchange, the referral contract, and the Postgres tables."""
