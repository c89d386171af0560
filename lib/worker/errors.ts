/** Typed errors of the worker, how SQS errors are classified for retries, and the request timeout that makes a stalled call a retryable one. */

/** Thrown at construction when options (or the environment they default from) are invalid. */
export class AgentWorkerConfigError extends Error {
  override readonly name = 'AgentWorkerConfigError';
}

/** The reason a handler's `signal` aborts when the handler runs past its deadline. */
export class HandlerTimeoutError extends Error {
  override readonly name = 'HandlerTimeoutError';
  constructor(readonly timeoutSeconds: number) {
    super(`handler did not finish within ${timeoutSeconds} seconds`);
  }
}

/** The reason a handler's `signal` aborts when a drain reaches its deadline. */
export class DrainDeadlineError extends Error {
  override readonly name = 'DrainDeadlineError';
  constructor(readonly deadlineSeconds: number) {
    super(`drain deadline of ${deadlineSeconds} seconds reached; the message is released for another worker`);
  }
}

/** An SQS call that did not answer within its request timeout: transient, so it is retried. */
export class SqsRequestTimeoutError extends Error {
  override readonly name = 'TimeoutError';
  constructor(readonly timeoutMs: number) {
    super(`SQS did not answer within ${timeoutMs} ms`);
  }
}

/**
 * Runs an SQS call with a signal that aborts after `ms`, and then fails with a (transient)
 * `SqsRequestTimeoutError`, whether or not the call heeds its signal: a delete or a heartbeat
 * that stalls is retried, not given up on as an aborted call would be (a delete given up on is a
 * message processed twice). A plain controller and timer: Node 20's `AbortSignal.timeout` and
 * `AbortSignal.any` cost far more per call at thousands of calls a second.
 */
export async function withRequestTimeout<T>(ms: number, call: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      // Rejected before the abort, so the race settles with the timeout and not the call's AbortError.
      reject(new SqsRequestTimeoutError(ms));
      controller.abort();
    }, ms);
  });
  try {
    return await Promise.race([call(controller.signal), timedOut]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * How an SQS call failed:
 * - `transient`: throttling, 5xx, network faults — back off briefly and retry;
 * - `credentials`: missing, expired or refused credentials — report loudly, retry slowly;
 * - `aborted`: we aborted the call ourselves (a receive past its wait, or a drain's deadline);
 * - `fatal`: anything else (a missing queue, a bad parameter) — report loudly, retry slowly.
 */
export type SqsErrorKind = 'transient' | 'credentials' | 'aborted' | 'fatal';

const CREDENTIAL_ERRORS = new Set([
  'CredentialsProviderError', 'ExpiredToken', 'ExpiredTokenException', 'InvalidClientTokenId',
  'UnrecognizedClientException', 'SignatureDoesNotMatch', 'InvalidSignatureException', 'AccessDenied',
  'AccessDeniedException', 'MissingAuthenticationToken', 'IncompleteSignature', 'InvalidSecurity',
  'KmsAccessDenied', 'TokenRefreshRequired',
]);

const TRANSIENT_ERRORS = new Set([
  'ThrottlingException', 'Throttling', 'RequestThrottled', 'TooManyRequestsException', 'RequestThrottledException',
  'ServiceUnavailable', 'InternalError', 'InternalFailure', 'RequestTimeout', 'RequestTimeoutException',
  'TimeoutError', 'KmsThrottled', 'ProvisionedThroughputExceededException', 'SlowDown',
]);

const NETWORK_CODES = new Set([
  'ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EAI_AGAIN', 'ENOTFOUND', 'ENETUNREACH', 'EHOSTUNREACH',
  'ECONNABORTED', 'UND_ERR_SOCKET', 'UND_ERR_CONNECT_TIMEOUT',
]);

export function classifySqsError(error: unknown): SqsErrorKind {
  if (!(error instanceof Error)) return 'fatal';
  const e = error as Error & {
    code?: string; $retryable?: unknown; $metadata?: { httpStatusCode?: number }; Code?: string;
  };
  if (e.name === 'AbortError') return 'aborted';
  const name = e.Code ?? e.name;
  if (CREDENTIAL_ERRORS.has(name) || CREDENTIAL_ERRORS.has(e.name)) return 'credentials';
  if (TRANSIENT_ERRORS.has(name) || TRANSIENT_ERRORS.has(e.name) || e.$retryable) return 'transient';
  const status = e.$metadata?.httpStatusCode;
  if (status !== undefined && (status >= 500 || status === 429)) return 'transient';
  if (status === 401 || status === 403) return 'credentials';
  if (e.code && NETWORK_CODES.has(e.code)) return 'transient';
  if (/socket hang up|ECONNRESET|ECONNREFUSED|network/i.test(e.message)) return 'transient';
  return 'fatal';
}

/** Exponential backoff with equal jitter: a random delay in [c/2, c] where c = min(max, base × 2^attempt). */
export function backoffMs(attempt: number, baseMs: number, maxMs: number, random: () => number = Math.random): number {
  const ceiling = Math.min(maxMs, baseMs * 2 ** Math.min(attempt, 30));
  return Math.round(ceiling / 2 + random() * (ceiling / 2));
}
