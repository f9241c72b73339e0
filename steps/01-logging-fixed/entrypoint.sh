#!/bin/sh
# Start the app. Its logs go to stdout, where `docker logs` and `kubectl logs` read them.
echo "starting hits..."
node dist/server.js
