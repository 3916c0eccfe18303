"""Which X account serves which Discord server (the rule), and later the accounts servers connect."""
