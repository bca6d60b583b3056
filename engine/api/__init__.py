"""HTTP and WebSocket entry points."""
