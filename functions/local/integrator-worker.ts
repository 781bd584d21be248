import { parentPort, workerData } from 'node:worker_threads';
import { appContext, signingCheckpoints } from '#handlers/app-context.ts';
import { startJournalIntegrator } from './journal-integrator.ts';
import { loadOrCreateJournalKey } from './journal-key.ts';

/**
 * The local journal integrator's thread (integrator-thread.ts starts it): its own DynamoDB
 * client and repositories, configured from the environment the server set, as the cloud's
 * integrator Lambda is. Answers `caughtUp` and `stop` requests by id.
 */
const { stateDir, origin } = workerData as { stateDir: string; origin: string };
const context = await appContext();
const integrator = startJournalIntegrator({
  journal: context.journal,
  tree: context.tree,
  checkpoints: signingCheckpoints(),
  signer: loadOrCreateJournalKey(stateDir, origin).signer,
  origin,
  search: context.journalSearch,
});

parentPort?.on('message', async (request: { id: number; type: 'caughtUp' | 'stop' }) => {
  await (request.type === 'stop' ? integrator.stop() : integrator.caughtUp());
  parentPort?.postMessage({ id: request.id });
});
parentPort?.postMessage({ id: 0 });
