import { pino } from 'pino';

// #region logger
/** Structured logs, one JSON object per line, on stdout: the container's log stream. */
export function createLogger() {
  // Each line written at once, in order. pino's default writes in the background, and a request's
  // line still on its way at process.exit came out after "shut down cleanly".
  const stdout = pino.destination({ dest: 1, sync: true });
  return pino(
    {
      // "level":"info" reads better than "level":30 in `kubectl logs`.
      formatters: { level: (label) => ({ level: label }) },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    stdout,
  );
}
// #endregion logger

export type Logger = ReturnType<typeof createLogger>;
