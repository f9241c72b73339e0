#!/bin/sh
# Start the app and keep its output in a file, to read later with `tail -F /tmp/app.log`.
echo "starting hits..."
node dist/server.js >> /tmp/app.log 2>&1
