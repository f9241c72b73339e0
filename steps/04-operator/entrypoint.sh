#!/bin/sh
# Start the app. `exec` replaces this shell with node, so node is PID 1 and gets SIGTERM.
echo "starting hits..."
exec node dist/server.js
