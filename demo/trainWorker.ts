/**
 * The demo's training worker: the device, the network and the training loop live here, so the
 * page's main thread only renders. The page drives it with TrainerWorker (see main.ts and
 * docs/worker.md).
 */
import { serveTrainer } from './api';

serveTrainer(self);
