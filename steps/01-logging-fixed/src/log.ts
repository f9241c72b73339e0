import { pino } from 'pino';

// #region logger
/** Structured logs, one JSON object per line, on stdout: the container's log stream. */
export function createLogger() {
  return pino({
    // "level":"info" reads better than "level":30 in `kubectl logs`.
    formatters: { level: (label) => ({ level: label }) },
    timestamp: pino.stdTimeFunctions.isoTime,
  });
}
// #endregion logger

export type Logger = ReturnType<typeof createLogger>;
