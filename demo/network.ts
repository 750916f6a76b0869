/**
 * The network side of the demo page: the training worker, the network it holds, the dataset,
 * the runs of a comparison, and the views that read the network (filters, probabilities, the
 * confusion matrix). It knows nothing of phases: main.ts drives it from the run's state machine
 * and decides when each method may run.
 */
import type {
  DatasetName,
  DatasetSplit,
  TrainConfig,
  TrainerWorker,
  TrainProgress,
  WorkerModel,
} from './api';
import { loadDataset } from './data';
import { padTitle, parseOptions, plannedRuns, trainConfigOf, type DemoOptions } from './options';
import {
  drawFilters,
  renderConfusion,
  renderMemory,
  renderModel,
  renderProbabilities,
  renderTuning,
} from './panels';
import { ui, type DemoState } from './view';

/** The runs to train, in order: one, or two for a comparison. */
export type Plan = { label: string; config: TrainConfig }[];

/** The page's options and the runs they ask for. */
export interface Settings {
  options: DemoOptions;
  runs: Plan;
}

/**
 * The settings in `params` (the URL's or the form's) with their runs, each with its config, so
 * a bad setting or a model that cannot run throws its one-line error before anything changes.
 */
export function settingsOf(params: URLSearchParams): Settings {
  const options = parseOptions(params);
  const runs = plannedRuns(options).map((r) => ({
    label: r.label,
    config: trainConfigOf(r.options),
  }));
  return { options, runs };
}

export class DemoNetwork {
  /** The network in the worker; undefined while one is being built or after a failed build. */
  model: WorkerModel | undefined;
  data: DatasetSplit | undefined;
  /** The image the probabilities are shown for (a drawing or a test image). */
  input: Float32Array | undefined;
  plan: Plan = [];
  /** Index in `plan` of the run the worker holds. */
  current = 0;
  /** Which dataset the worker holds. */
  private sent: DatasetName | undefined;

  constructor(
    readonly worker: TrainerWorker,
    private readonly state: DemoState,
    public options: DemoOptions,
    /** Shows a new status line; `changed` redraws the charts soon. */
    private readonly say: (message: string) => void,
    private readonly changed: () => void,
  ) {}

  classNames(): readonly string[] {
    return this.data?.test.classNames ?? [];
  }

  /** Throws the network away and makes the first of `runs`: dataset, worker copy, compile. */
  async build(runs: Plan): Promise<void> {
    this.model = undefined;
    [this.plan, this.current] = [runs, 0];
    const config = runs[0]?.config;
    if (!config) throw new Error('no run to build');
    const curves = runs.map((r) => ({
      label: r.label,
      losses: [],
      accuracies: [],
      testAccuracy: [],
    }));
    this.state.runs = runs.length > 1 ? curves : undefined;
    this.resetRun();
    const note = runs.length > 1 ? `run 1, ${runs[0]?.label}` : undefined;
    renderModel(ui.model, config.model, note);
    this.say('Loading the dataset...');
    const data = await loadDataset(config.dataset, this.say);
    this.data = data;
    ui.padTitle.textContent = padTitle(config.dataset);
    if (this.sent !== config.dataset) {
      this.say('Handing the dataset to the training worker...');
      this.sent = undefined; // until both halves are there
      // The worker gets its own copy of the training images (transferred, not cloned); the
      // page keeps the test split to show test images.
      const train = { ...data.train, images: data.train.images.slice() };
      await this.worker.setData({ train }, { transfer: true });
      await this.worker.setData({ test: data.test });
      this.sent = config.dataset;
    }
    this.say('Compiling the training step...');
    await this.create(config);
  }

  readyMessage(): string {
    const config = this.model?.config;
    if (!config || !this.data) return 'No network.';
    const count = Math.min(this.data.train.count, config.limit ?? Infinity);
    const runs = this.plan.length;
    const runsNote = runs > 1 ? `, ${runs} runs of ${this.options.stopAfter} steps` : '';
    return `Ready: ${count} training images, batch ${config.batchSize}${runsNote}.`;
  }

  /** Points the state's curves at the current run's (fresh ones for a single run). */
  private resetRun(): void {
    const s = this.state;
    const curves = s.runs?.[this.current] ?? { losses: [], accuracies: [], testAccuracy: [] };
    const { losses, accuracies, testAccuracy } = curves;
    Object.assign(s, { step: 0, epoch: 1, losses, accuracies, testAccuracy });
    Object.assign(s, { samplesPerSecond: 0, confusion: undefined, probabilities: undefined });
    s.epochFraction = 0;
  }

  /**
   * A fresh network for `config` in the worker (which keeps its data), with its read-outs. While
   * the autotuner times kernels (seconds on a first visit), the status line says which.
   */
  private async create(config: TrainConfig): Promise<void> {
    const onTuning = (line: string): void =>
      this.say(`Timing kernels on this device (once: the choices are kept), ${line}`);
    this.model = await this.worker.create(config, { tune: this.options.tune, onTuning });
    this.state.memory = this.model.memory;
    this.state.tuning = this.model.tuning;
    renderMemory(ui.memory, this.model.memory);
    renderTuning(ui.tuning, this.model.tuning);
    await this.refreshViews(false);
  }

  /**
   * Trains the run the worker holds and, in a comparison, each following run once the one
   * before has done its steps. `steps=N` ends each run at step N; the last one then trains on,
   * when resumed, until paused. Returns when `training()` turns false after a run or a step
   * ends (a pause, even between runs); a later call carries on from there.
   */
  async train(training: () => boolean, onStep: (s: TrainProgress) => void): Promise<void> {
    const { stopAfter } = this.options;
    for (;;) {
      if (this.current < this.plan.length - 1 && this.state.step >= stopAfter) {
        await this.nextRun();
        if (!training()) return;
      }
      const left = stopAfter - this.state.step;
      await this.worker.train(left > 0 ? { steps: left } : {}, onStep);
      if (!training() || this.current >= this.plan.length - 1) return;
    }
  }

  /** True once a comparison's last run has done its steps. */
  comparisonDone(): boolean {
    const last = this.current === this.plan.length - 1;
    return this.state.runs !== undefined && last && this.state.step >= this.options.stopAfter;
  }

  /**
   * Ends the comparison's current run with a test evaluation (its final test accuracy) and
   * builds the next run's network: same data, seed and step count, so only the compared
   * switch differs.
   */
  private async nextRun(): Promise<void> {
    await this.evaluate();
    const next = this.plan[this.current + 1];
    if (!next) return;
    this.current++;
    this.resetRun();
    const name = `run ${this.current + 1}, ${next.label}`;
    renderModel(ui.model, next.config.model, name);
    this.say(`Compiling ${name}...`);
    await this.create(next.config);
    this.say(`Training ${name}...`);
  }

  /** Filters, probabilities of the current input and (optionally) the confusion matrix. */
  async refreshViews(withConfusion: boolean): Promise<void> {
    const first = this.model?.parameters[0];
    if (!first) return;
    const weights = await this.worker.parameter(first.name);
    if (first.shape.length === 4) drawFilters(ui.filters, weights, first.shape);
    await this.predictInput();
    if (withConfusion) await this.evaluate();
  }

  async evaluate(): Promise<void> {
    if (!this.model) return;
    const m = await this.worker.evaluate(this.options.testSubset);
    const s = this.state;
    s.confusion = { counts: Array.from(m.counts), accuracy: m.accuracy, total: m.total };
    s.testAccuracy.push([s.step, m.accuracy]);
    renderConfusion(ui.confusion, m, this.classNames());
    this.changed();
  }

  async predictInput(): Promise<void> {
    if (!this.model || !this.input) return;
    const probs = await this.worker.predict(this.input, 1);
    this.state.probabilities = Array.from(probs);
    this.state.predictions++;
    renderProbabilities(ui.probabilities, probs, this.classNames());
  }
}
