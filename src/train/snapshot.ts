/**
 * In-memory snapshots of a training run: parameters, optimizer state, the optimizer's step
 * counter, the epoch's running metrics and the data position, copied to CPU memory every N steps
 * so a run survives a device loss losing at most N steps.
 *
 * The copy never stalls the steps: the step that ends on a snapshot step also records copies of
 * those tensors into one MAP_READ staging buffer, in its own command encoder (one submit, so the
 * copy sees exactly that step's result); the buffer is mapped right after the submit and the
 * bytes are copied out whenever the GPU gets there, while later steps are already queued. A step
 * waits only when the next snapshot comes due before the previous one was copied out.
 */
import type { Gpu } from '../gpu/device';
import { readFloat32, readTensor } from '../gpu/buffers';
import { ShadergradError } from '../base/errors';
import { OutOfMemoryError } from '../gpu/memory';
import { describeNonFinite } from '../gpu/nonFinite';
import type { ParameterStore } from '../graph/parameterStore';
import type { GpuTensor } from '../gpu/tensor';

/** Where a run stands: the epoch in progress (1-based) and its batches already trained. */
export interface TrainPosition {
  readonly epoch: number;
  readonly batch: number;
}

export interface Snapshot {
  readonly position: TrainPosition;
  /** Training steps since the run began: (epoch - 1) * stepsPerEpoch + batch. */
  readonly step: number;
  /** Seed of that epoch's shuffle: seededPermutation(count, permutationSeed). */
  readonly permutationSeed: number;
  /** The optimizer's own step counter on the GPU (Adam's t). */
  readonly optimizerStep: number;
  readonly params: ReadonlyMap<string, Float32Array>;
  /** Per parameter, its optimizer state tensors (Adam: m, v). */
  readonly state: ReadonlyMap<string, readonly Float32Array[]>;
  /** The epoch's running loss sum and correct count, so its metrics come out the same. */
  readonly lossSum: number;
  readonly correct: number;
}

/** What a snapshot needs besides the GPU's bytes. */
export type SnapshotPlace = Pick<Snapshot, 'position' | 'step' | 'permutationSeed'>;

interface Region {
  readonly tensor: GpuTensor;
  readonly offset: number;
}

/** The trainer's tensors a snapshot copies. */
export interface SnapshotSources {
  readonly store: ParameterStore;
  readonly lossSum: GpuTensor;
  readonly correct: GpuTensor;
}

/** One device's staging buffer and the layout of the tensors in it. */
class SnapshotCopier {
  private readonly regions: Region[] = [];
  private readonly staging: GPUBuffer;

  constructor(
    private readonly gpu: Gpu,
    private readonly sources: SnapshotSources,
  ) {
    let offset = 0;
    const add = (tensor: GpuTensor): void => {
      this.regions.push({ tensor, offset });
      offset += tensor.byteLength;
    };
    for (const p of sources.store.params.values()) [p.value, ...p.state].forEach(add);
    [sources.store.step, sources.lossSum, sources.correct].forEach(add);
    this.staging = gpu.device.createBuffer({
      label: 'snapshot.staging',
      size: offset,
      usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
    });
  }

  encode(encoder: GPUCommandEncoder): void {
    for (const r of this.regions)
      encoder.copyBufferToBuffer(
        r.tensor.buffer,
        r.tensor.byteOffset,
        this.staging,
        r.offset,
        r.tensor.byteLength,
      );
  }

  /** Maps the staging buffer (after the submit that filled it) and copies the bytes out. */
  async read(place: SnapshotPlace): Promise<Snapshot> {
    const mapped = this.staging.mapAsync(GPUMapMode.READ);
    mapped.catch(() => undefined); // if the device is lost first, nobody awaits this one
    await Promise.race([mapped, this.gpu.lost.then((e) => Promise.reject(e))]);
    try {
      return this.decode(this.staging.getMappedRange(), place);
    } finally {
      this.staging.unmap();
    }
  }

  private decode(bytes: ArrayBuffer, place: SnapshotPlace): Snapshot {
    const f32 = (r: Region): Float32Array =>
      new Float32Array(bytes.slice(r.offset, r.offset + r.tensor.byteLength));
    const scalar = (i: number): DataView => {
      const r = this.regions[this.regions.length - 3 + i];
      return new DataView(bytes, r?.offset ?? 0, 4);
    };
    const params = new Map<string, Float32Array>();
    const state = new Map<string, Float32Array[]>();
    let i = 0;
    for (const [name, p] of this.sources.store.params) {
      const own = this.regions.slice(i, i + 1 + p.state.length).map(f32);
      i += 1 + p.state.length;
      params.set(name, own[0] ?? new Float32Array());
      state.set(name, own.slice(1));
    }
    return {
      ...place,
      optimizerStep: scalar(0).getUint32(0, true),
      params,
      state,
      lossSum: scalar(1).getFloat32(0, true),
      correct: scalar(2).getUint32(0, true),
    };
  }

  destroy(): void {
    this.staging.destroy();
  }
}

/**
 * A trainer's snapshots: when they are due, the copy in flight and the latest one. `attach`
 * points it at a device's tensors (again after a device loss); the latest snapshot survives that.
 * Only finite states count: a periodic copy holding a NaN or an infinity (a run diverging) is
 * dropped, never handed to `onSnapshot`, and `take` refuses one.
 */
export class Snapshots {
  /** Whether to snapshot after global step `step` (1-based); set with schedule(). */
  private dueAt: (step: number) => boolean;
  private active: boolean;
  /** Called with each (finite) snapshot once in CPU memory; a returned promise is awaited later. */
  onSnapshot: ((s: Snapshot) => void | Promise<void>) | undefined;
  private latestSnapshot: Snapshot | undefined;
  private copier: SnapshotCopier | undefined;
  private sources: { gpu: Gpu; tensors: SnapshotSources } | undefined;
  private inFlight: Promise<void> = Promise.resolve();
  private handlers: Promise<void> = Promise.resolve();
  /** The first failure of a copy or an onSnapshot handler, rethrown by settle(). */
  private failure: Error | undefined;

  constructor(readonly every: number) {
    if (!Number.isInteger(every) || every < 0)
      throw new ShadergradError(`snapshotEvery: expected a whole number >= 0, got ${every}`);
    this.active = every > 0;
    this.dueAt = (step) => step % every === 0;
  }

  /** Snapshots after the global steps `due` picks (and at each epoch's end) from now on. */
  schedule(due: (step: number) => boolean): void {
    this.dueAt = due;
    this.active = true;
  }

  due(step: number): boolean {
    return this.active && this.dueAt(step);
  }

  /** The latest snapshot, which holds only finite values. */
  get latest(): Snapshot | undefined {
    return this.latestSnapshot;
  }

  /** Whether steps take snapshots at all (snapshotEvery > 0, or a schedule was set). */
  get enabled(): boolean {
    return this.active;
  }

  /** Uses these tensors from now on (a new device after a loss); drops the old staging buffer. */
  attach(gpu: Gpu, tensors: SnapshotSources): void {
    this.copier?.destroy();
    this.copier = undefined;
    this.sources = { gpu, tensors };
    this.inFlight = Promise.resolve();
  }

  /** Resolves once the previous copy is out of its staging buffer, so it can be reused. */
  ready(): Promise<void> {
    return this.inFlight;
  }

  /** Records the copies; call after the step's pass, in the same encoder. */
  encode(encoder: GPUCommandEncoder): void {
    if (!this.sources) throw new ShadergradError('snapshots: not attached to a device');
    try {
      this.copier ??= new SnapshotCopier(this.sources.gpu, this.sources.tensors);
    } catch (e) {
      if (!(e instanceof OutOfMemoryError)) throw e;
      throw new ShadergradError(
        `${e.message}; snapshots hold the weights and optimizer state: turn them off with snapshotEvery 0 (--snapshot-every 0)`,
        { cause: e },
      );
    }
    this.copier.encode(encoder);
  }

  /**
   * After the submit: copies the bytes out when the GPU gets there. A device lost meanwhile just
   * leaves the previous snapshot as the latest; any other failure surfaces in `settle`.
   */
  collect(place: SnapshotPlace): void {
    const copier = this.copier;
    if (!copier) throw new ShadergradError('snapshots: collect() without encode()');
    const gpu = this.sources?.gpu;
    const fail = (e: unknown): void => {
      this.failure ??= e instanceof Error ? e : new ShadergradError(String(e));
    };
    const read = copier.read(place).then((s) => {
      // A diverged state is nothing to go back to or save: the last good snapshot stays latest.
      if (nonFiniteIn(s) !== undefined) return;
      this.latestSnapshot = s;
      const handled = this.onSnapshot?.(s);
      if (handled) this.handlers = this.handlers.then(() => handled).catch(fail);
    });
    this.inFlight = read.catch((e: unknown) => {
      if (!gpu?.lostError) fail(e);
    });
  }

  /**
   * Takes one now, tensor by tensor through small read-backs (no staging buffer of the whole
   * state, so it works where memory is short), and waits for it: before the first step, between
   * epochs, on demand.
   */
  async take(place: SnapshotPlace): Promise<Snapshot> {
    if (!this.sources) throw new ShadergradError('snapshots: not attached to a device');
    await this.settle();
    const s = await readSnapshot(this.sources.gpu, this.sources.tensors, place);
    const bad = nonFiniteIn(s);
    if (bad !== undefined)
      throw new ShadergradError(
        `snapshot at step ${place.step}: ${bad}: the run's state is no longer finite (training diverged)`,
      );
    this.latestSnapshot = s;
    await this.onSnapshot?.(s);
    return s;
  }

  /** Waits for the copy in flight and the onSnapshot work; rethrows the first failure. */
  async settle(): Promise<void> {
    await this.inFlight;
    await this.handlers;
    const failure = this.failure;
    this.failure = undefined;
    if (failure) throw failure;
  }

  destroy(): void {
    this.copier?.destroy();
    this.copier = undefined;
  }
}

/** A snapshot through one small read-back per tensor. */
async function readSnapshot(
  gpu: Gpu,
  src: SnapshotSources,
  place: SnapshotPlace,
): Promise<Snapshot> {
  const params = new Map<string, Float32Array>();
  const state = new Map<string, Float32Array[]>();
  for (const [name, p] of src.store.params) {
    params.set(name, await readFloat32(gpu, p.value));
    state.set(name, await Promise.all(p.state.map((t) => readFloat32(gpu, t))));
  }
  const [optimizerStep = 0] = await readTensor(gpu, src.store.step);
  const [lossSum = NaN] = await readFloat32(gpu, src.lossSum);
  const [correct = 0] = await readTensor(gpu, src.correct);
  return { ...place, optimizerStep, params, state, lossSum, correct };
}

/** "conv1.weight[3] = NaN" for a snapshot's first non-finite value, or undefined. */
function nonFiniteIn(s: Snapshot): string | undefined {
  const arrays: [string, Float32Array][] = [['lossSum', Float32Array.of(s.lossSum)]];
  for (const [name, values] of s.params) {
    arrays.push([name, values]);
    (s.state.get(name) ?? []).forEach((v, i) => arrays.push([`${name}.state${i}`, v]));
  }
  return describeNonFinite(arrays);
}

/** Writes a snapshot's values into a store of the same model (any device). */
export function restoreStore(store: ParameterStore, s: Snapshot): void {
  const names = [...store.params.keys()];
  const missing = names.filter((n) => !s.params.has(n));
  const extra = [...s.params.keys()].filter((n) => !store.params.has(n));
  if (missing.length > 0 || extra.length > 0)
    throw new ShadergradError(
      `snapshot does not fit this model: missing ${missing.join(', ') || 'none'}, extra ${extra.join(', ') || 'none'}`,
    );
  for (const name of names) {
    store.write(name, s.params.get(name) ?? new Float32Array());
    store.writeState(name, s.state.get(name) ?? []);
  }
  store.writeStep(s.optimizerStep);
}
