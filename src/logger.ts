import { pino, type Logger } from 'pino';

export type { Logger };
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** Structured JSON logs on stdout (pino), one line per event. */
export function createLogger(level: LogLevel = 'info', name = 'tributary'): Logger {
  // pino's own complaint names none of the levels; this one does.
  if (!(LOG_LEVELS as readonly string[]).includes(level)) throw new Error(`log level "${String(level)}" is not one of ${LOG_LEVELS.join(', ')}`);
  return pino({ name, level, base: { pid: process.pid } });
}
