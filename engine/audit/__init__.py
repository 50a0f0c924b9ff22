"""Evidence that nothing was altered and answers to "who changed what": sealed hash chains, the change log
written from session hooks, and the firing history auditors page through."""
