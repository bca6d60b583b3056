"""The pure core: order types, the status machine, routing and errors. No I/O."""
