"""The kernel: mechanism only (envelope, store, outbox, consumers, edges, test kit)."""
