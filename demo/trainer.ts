/**
 * The demo's training worker (trainWorker.ts) and the adapter it found; without WebGPU, the
 * page's banner says why. The worker is created with `new URL(..., import.meta.url)`, the
 * pattern bundlers recognise and build as a worker chunk of its own.
 */
import { TrainerWorker, type AdapterSummary } from './api';
import { showAdapter, showNoWebgpu, webgpuMissing, type WebgpuElements } from './page';

const CONSEQUENCE = 'this demo cannot train here';

/** The worker with its device open, or undefined (the banner shown) when there is no WebGPU. */
export async function openTrainerWorker(
  page: WebgpuElements,
): Promise<{ worker: TrainerWorker; adapter: AdapterSummary } | undefined> {
  const missing = webgpuMissing();
  if (missing !== undefined) {
    showNoWebgpu(page, CONSEQUENCE, missing);
    return undefined;
  }
  const worker = new TrainerWorker(
    new Worker(new URL('./trainWorker.ts', import.meta.url), { type: 'module' }),
  );
  try {
    const adapter = await worker.init();
    showAdapter(page, adapter);
    return { worker, adapter };
  } catch (e) {
    await worker.destroy().catch(() => undefined);
    showNoWebgpu(page, CONSEQUENCE, e instanceof Error ? e.message : String(e));
    return undefined;
  }
}
