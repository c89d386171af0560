/** Structured JSON logs: one object a line, with `time`, `level`, `msg` and fields. */

export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'silent';

/** What the worker logs through; pass your own (pino, console…) as `logger`. */
export interface WorkerLogger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
}

const RANK: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 };

export const LOG_LEVELS: readonly LogLevel[] = ['debug', 'info', 'warn', 'error', 'silent'];

/** Makes errors (and other values) JSON-friendly. */
export function describeError(error: unknown): Record<string, unknown> {
  if (error instanceof Error) {
    const e = error as Error & { code?: unknown; $metadata?: { httpStatusCode?: number } };
    return {
      name: e.name,
      message: e.message,
      ...(e.code !== undefined ? { code: e.code } : {}),
      ...(e.$metadata?.httpStatusCode !== undefined ? { status: e.$metadata.httpStatusCode } : {}),
      stack: e.stack,
    };
  }
  return { value: String(error) };
}

export interface JsonLoggerOptions {
  /** Least severe level written. @default 'info' */
  readonly level?: LogLevel;
  /** Where lines go. @default - process.stdout (warn and error to process.stderr) */
  readonly write?: (line: string, level: LogLevel) => void;
  /** Fields added to every line. */
  readonly base?: Record<string, unknown>;
}

/** A logger that writes one JSON object a line. */
export function jsonLogger(options: JsonLoggerOptions = {}): WorkerLogger {
  const min = RANK[options.level ?? 'info'];
  const write = options.write ?? ((line: string, level: LogLevel) => {
    (RANK[level] >= RANK.warn ? process.stderr : process.stdout).write(line);
  });
  const base = options.base ?? {};
  const log = (level: LogLevel) => (msg: string, fields: Record<string, unknown> = {}) => {
    if (RANK[level] < min) return;
    const out: Record<string, unknown> = { time: new Date().toISOString(), level, msg, ...base };
    for (const [k, v] of Object.entries(fields)) out[k] = k === 'error' || v instanceof Error ? describeError(v) : v;
    let line: string;
    try {
      line = JSON.stringify(out);
    } catch {
      line = JSON.stringify({ time: out.time, level, msg, ...base, note: 'fields not serializable' });
    }
    write(`${line}\n`, level);
  };
  return { debug: log('debug'), info: log('info'), warn: log('warn'), error: log('error') };
}

/** A logger that writes nothing. */
export const silentLogger: WorkerLogger = jsonLogger({ level: 'silent' });
