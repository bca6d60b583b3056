"""What becomes of an order's event once it is committed: the hub hands it to subscribers, the
recent histories keep it for streams that open just after, and the metrics count it."""
