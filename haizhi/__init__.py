"""The system as a whole, seen from outside: drivers of the four services' HTTP APIs, the demo.

Nothing here imports a service: it speaks to them only over HTTP (and moves the shared
development clock over NATS), as their users and operators do.
"""
