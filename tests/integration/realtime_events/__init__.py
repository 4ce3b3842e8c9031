"""The seed's Socket.IO events against two real realtime instances (gunicorn gevent), a real Redis and the
real booking database (only properties that exist may be watched: each test inserts its own).

Real python-socketio clients connect straight to `booking_realtime` instances 0 and 1; nothing is mocked.
The abuse limits (auth deadline, event budget, token in the URL) are tested in tests/security/socketio_abuse.
"""
