/**
 * Every Kubernetes call is bounded in time. client-node 1.4.0 has no per-call timeout setting,
 * but each call accepts options with middleware, and the request it sends carries an AbortSignal:
 * one middleware gives each request its own deadline.
 */
import {
  ApiException,
  type ConfigurationOptions,
  Observable,
  type ObservableMiddleware,
} from '@kubernetes/client-node';

/**
 * Call options that abort the request after MS milliseconds (an AbortError, as client-node reports
 * it: the queue retries).
 */
export function timeoutOptions(ms: number): ConfigurationOptions {
  const deadline: ObservableMiddleware = {
    pre: (request) => {
      request.setSignal(AbortSignal.timeout(ms));
      return new Observable(Promise.resolve(request));
    },
    post: (response) => new Observable(Promise.resolve(response)),
  };
  return { middleware: [deadline], middlewareMergeStrategy: 'append' };
}

/** An error in one line: the API server's message when there is one. */
export function errorText(err: unknown): string {
  if (err instanceof ApiException) {
    const body = typeof err.body === 'string' ? err.body : JSON.stringify(err.body);
    const message = /"message":"((?:[^"\\]|\\.)*)"/.exec(body)?.[1];
    return `HTTP ${err.code}${message ? `: ${message}` : ''}`;
  }
  return err instanceof Error ? err.message : String(err);
}
