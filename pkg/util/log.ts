import winston from 'winston';

/**
 * Structured JSON logs, one line per event, always naming the component. Values under
 * keys that can carry credentials are replaced before a line is written, so a token
 * passed along by mistake still never reaches a log.
 */
export type Logger = winston.Logger;

const SECRET_KEY = /token|secret|password|authorization|credential/i;

export function redact(value: unknown, depth = 0): unknown {
  if (depth > 6 || value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map((item) => redact(item, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [key, inner] of Object.entries(value as Record<string, unknown>)) {
    out[key] = SECRET_KEY.test(key) ? '[redacted]' : redact(inner, depth + 1);
  }
  return out;
}

const redactFormat = winston.format((info) => {
  for (const key of Object.keys(info)) {
    if (key === 'level' || key === 'message') continue;
    info[key] = SECRET_KEY.test(key) ? '[redacted]' : redact(info[key]);
  }
  return info;
});

const root = winston.createLogger({
  level: process.env.BOSUN_LOG_LEVEL ?? 'info',
  format: winston.format.combine(winston.format.timestamp(), redactFormat(), winston.format.json()),
  // stderr: stdout belongs to command output (tables, YAML) that people pipe.
  transports: [
    new winston.transports.Console({
      stderrLevels: ['error', 'warn', 'info', 'http', 'verbose', 'debug', 'silly'],
    }),
  ],
  silent: process.env.BOSUN_LOG_LEVEL === 'silent',
});

/** A logger whose every line carries `component` (and any other fixed fields given). */
export function logger(component: string, fields: Record<string, unknown> = {}): Logger {
  const child = root.child({ component, ...fields });
  // winston formats a line (timestamp, JSON) before its transport drops one below the level,
  // so a disabled debug line on every request and Raft message cost 5 µs. The level is fixed
  // at start, so a disabled level's method can do nothing at all.
  for (const level of Object.keys(root.levels)) {
    if (!root.isLevelEnabled(level)) (child as unknown as Record<string, unknown>)[level] = () => child;
  }
  return child;
}
