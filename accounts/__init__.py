"""accounts package of LikeLens: which X account serves which server, stored tokens, OAuth 2.0 flows."""
