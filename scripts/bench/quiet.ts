// Imported first by benchmarks that run bosun code in-process: its info logs would bury the figures.
process.env.BOSUN_LOG_LEVEL ??= 'warn';
