"""What the hall server and the kiosk machine both use: small, pure helpers.

The kiosk (`python -m kiosk`) runs on its own machine and speaks to the server over HTTP only, so
it cannot import `queue_server`; whatever both sides need lives here instead. Nothing here holds
an app, a database or any state of its own, and nothing here imports `queue_server` or `kiosk`.
The slip's layout and bytes, which both print, are the other shared package: `printers/`.
"""
