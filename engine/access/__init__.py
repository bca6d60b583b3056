"""Who may call, and how often: the API keys a running engine accepts, and the rate limits."""
