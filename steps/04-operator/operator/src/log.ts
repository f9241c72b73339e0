import { pino } from 'pino';

/**
 * Structured logs, one JSON object per line, on stdout: the container's log stream. Written
 * synchronously: a few lines per resync are cheap, and an asynchronous write still in flight at
 * exit could land after a later line ("stopped" before "shutting down").
 */
export function createLogger() {
  return pino(
    {
      // "level":"info" reads better than "level":30 in `kubectl logs`.
      formatters: { level: (label) => ({ level: label }) },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    pino.destination({ dest: 1, sync: true }),
  );
}

export type Logger = ReturnType<typeof createLogger>;
