/**
 * Structured JSON logs (pino), with every place a secret could sit redacted.
 *
 * @module
 */
import { pino, type Logger } from 'pino'

export type { Logger }

/** `toStderr` keeps stdout clean for a CLI's own output. */
export function createLogger(
  env: NodeJS.ProcessEnv = process.env,
  options: { toStderr?: boolean } = {},
): Logger {
  const opts = {
    name: 'patchbay',
    level: env.PATCHBAY_LOG_LEVEL ?? 'info',
    redact: {
      paths: [
        'req.headers.authorization',
        'req.headers.cookie',
        'req.headers["x-patchbay-key"]',
        'req.headers["x-api-key"]',
        'res.headers["set-cookie"]',
        '*.token',
        '*.access_token',
        '*.refresh_token',
        '*.clientSecret',
        '*.password',
      ],
      censor: '[REDACTED]',
    },
  }
  return options.toStderr ? pino(opts, pino.destination(2)) : pino(opts)
}
