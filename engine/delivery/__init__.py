"""Messages out: the outbox delivered at least once over inbox, webhook, robot and e-mail channels (one
HTTP client), and the daily readiness digest."""
