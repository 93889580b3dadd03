// Components log JSON lines to stderr; in tests only errors are worth the noise.
process.env.BOSUN_LOG_LEVEL = process.env.BOSUN_LOG_LEVEL || 'error';
