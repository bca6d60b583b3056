"""The order pipeline: executing an order step by step (service), the worker pool and its fair
queue, the price watcher and TWAP schedules that wake waiting orders, routing, pre-trade risk."""
