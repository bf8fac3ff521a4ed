// `node dist/server/main.js`: settings from the environment, MA + MR in one process, clean exit on
// SIGTERM/SIGINT (clients get 1001 and may reconnect to the next server).
import { ConfigError, loadConfig } from './config.js';
import { createLogger } from './logger.js';
import { guardUnhandledRejections } from './processGuards.js';
import { startMediaServer } from './server.js';

async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`media-infra: ${err.message}\n`);
      process.exit(1);
    }
    throw err;
  }
  const logger = createLogger(config.logLevel, config.logFormat);
  guardUnhandledRejections(logger);
  if (config.generatedApiKeyPath) {
    // Printed this once; later starts read it from the file and only say where it is.
    logger.warn({ path: config.generatedApiKeyPath }, `generated a development MEDIA_API_KEY: ${config.apiKey}`);
  } else if (config.apiKeySource === 'file') {
    logger.info('using the development MEDIA_API_KEY stored beside the database (set MEDIA_API_KEY to use your own)');
  }

  let server;
  try {
    server = await startMediaServer(config, { logger });
  } catch (err) {
    logger.fatal({ err: (err as Error).message }, 'cannot start');
    process.exit(1);
  }
  // Engine URLs are never logged (they may hold passwords): only which engine, and this node's name.
  logger.info(
    { url: server.url, workers: config.numWorkers, database: config.databaseUrl ? 'postgresql' : config.databasePath, ...(config.redisUrl && { cluster: 'redis', nodeId: config.nodeId }) },
    'listening',
  );
  logger.info({ demo: config.demo }, config.demo ? `demo on at ${server.url}/ (it issues tokens without the API key: development only)` : 'demo off (MEDIA_API_KEY is set; DEMO=1 turns it on)');

  const stop = (signal: NodeJS.Signals) => {
    logger.info({ signal }, 'shutting down');
    server.close().then(
      () => process.exit(0),
      (err: unknown) => {
        logger.error({ err: (err as Error).message }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

void main();
