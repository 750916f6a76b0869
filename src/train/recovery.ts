/**
 * Automatic recovery from device loss: run training work (an epoch, an evaluation, a checkpoint
 * read) through `DeviceRecovery.run`; if the device is lost meanwhile, it gets a new device,
 * resumes the trainer there from its latest snapshot (see Trainer.resume), lets the caller upload
 * its datasets again, and runs the work again, which continues from the snapshot's position.
 * It gives up (rethrows) after `maxRecoveries` losses, and never retries other errors.
 */
import { initDevice, type Gpu } from '../gpu/device';
import { DeviceLostError } from '../base/errors';
import type { TrainPosition } from './snapshot';
import type { Trainer } from './trainer';

export interface Recovered {
  /** The new device; the trainer already uses it. */
  gpu: Gpu;
  /** What ended the old one. */
  error: DeviceLostError;
  /** Where the run stands again: the latest snapshot's position. */
  position: TrainPosition;
  /** Recoveries so far, this one included. */
  recoveries: number;
}

export interface RecoveryOptions {
  /** How to get a new device; default `initDevice()`. */
  newDevice?: () => Promise<Gpu>;
  /** Device losses to recover from before giving up; default 3. */
  maxRecoveries?: number;
  /** Runs after each recovery, before the work is retried: upload the datasets again here. */
  onRecovered?: (r: Recovered) => void | Promise<void>;
}

export class DeviceRecovery {
  recoveries = 0;

  constructor(
    readonly trainer: Trainer,
    private readonly options: RecoveryOptions = {},
  ) {}

  get maxRecoveries(): number {
    return this.options.maxRecoveries ?? 3;
  }

  /** Runs `work`; after a device loss, recovers and runs it again (see the file header). */
  async run<T>(work: () => Promise<T>): Promise<T> {
    for (;;) {
      try {
        return await work();
      } catch (e) {
        const lost = e instanceof DeviceLostError ? e : this.trainer.gpu.lostError;
        if (!lost || this.recoveries >= this.maxRecoveries) throw e;
        await this.recover(lost);
      }
    }
  }

  private async recover(error: DeviceLostError): Promise<void> {
    this.recoveries++;
    this.trainer.gpu.destroy(); // a no-op for a device the host app owns
    const gpu = await (this.options.newDevice ?? (() => initDevice()))();
    const position = this.trainer.resume(gpu);
    await this.options.onRecovered?.({ gpu, error, position, recoveries: this.recoveries });
  }
}
