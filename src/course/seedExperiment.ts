/**
 * Lab 10, the seed experiment, graded from the student's run folders: a baseline run of the
 * course's reference CNN on MNIST, one run per knob the course varies (features, padding, kernel,
 * stride, activation, pooling) that differs from the baseline in that knob alone, one run on
 * Fashion-MNIST, every run trained for at least one epoch with its first layer saved. The
 * numbers are the student's to explain; the check is that the runs exist and say what was
 * varied, and it prints the table of results to start the report from.
 */
import { cnnKnobsOf, referenceKnobs, type CnnKnobs } from '../models/config';
import type { TrainConfig } from '../models/config';
import type { Finding, Grade } from './grade';

/** One epoch line of a run's metrics.jsonl (the fields the check reads). */
export interface EpochResult {
  epoch: number;
  testAccuracy: number;
  samplesPerS: number;
}

/** A run folder as the CLI read it. */
export interface RunRecord {
  folder: string;
  config: TrainConfig;
  epochs: EpochResult[];
  /** The names of the files in the folder. */
  files: string[];
}

export const VARIED_KNOBS = [
  'features',
  'padding',
  'kernel',
  'stride',
  'activation',
  'pool',
] as const;
type VariedKnob = (typeof VARIED_KNOBS)[number];

export const seedExperiment = {
  id: 'seed-experiment',
  title: 'The seed experiment: vary one knob at a time, then Fashion-MNIST',
};

/** The first layer's checkpoint the CLI writes beside model.safetensors. */
const FIRST_LAYER_FILE = 'conv1.safetensors';

function sameKnob(a: Required<CnnKnobs>, b: Required<CnnKnobs>, knob: keyof CnnKnobs): boolean {
  return JSON.stringify(a[knob]) === JSON.stringify(b[knob]);
}

/** What a run changed from the reference CNN: the knobs that differ, or undefined for another model. */
export function variedKnobs(run: RunRecord): (keyof CnnKnobs)[] | undefined {
  const knobs = cnnKnobsOf(run.config.model);
  if (!knobs) return undefined;
  const reference = referenceKnobs();
  return (Object.keys(reference) as (keyof CnnKnobs)[]).filter(
    (k) => !sameKnob(knobs, reference, k),
  );
}

function describeRun(run: RunRecord): string {
  const varied = variedKnobs(run);
  if (!varied) return 'not the reference CNN';
  const knobs = cnnKnobsOf(run.config.model);
  if (varied.length === 0 || !knobs) return 'baseline (reference CNN)';
  return varied.map((k) => `${k} ${JSON.stringify(knobs[k])}`).join(', ');
}

const trained = (run: RunRecord) => run.epochs.length > 0;

function requirement(check: string, found: RunRecord | undefined, hint: string): Finding {
  return found
    ? { check: 'result', ok: true, message: `${check}: ${found.folder}` }
    : { check: 'result', ok: false, message: `${check}: no such run; ${hint}` };
}

function knobRun(runs: readonly RunRecord[], knob: VariedKnob): RunRecord | undefined {
  return runs.find((r) => {
    const varied = variedKnobs(r);
    return r.config.dataset === 'mnist' && varied?.length === 1 && varied[0] === knob;
  });
}

const FLAGS: Record<VariedKnob, string> = {
  features: '--features 16,32',
  padding: '--padding valid',
  kernel: '--kernel 3',
  stride: '--stride 2',
  activation: '--activation tanh',
  pool: '--pool avg',
};

/** One line per run: what it varied, its last test accuracy and speed. */
export function resultsTable(runs: readonly RunRecord[]): string {
  const rows = runs.map((r) => {
    const last = r.epochs.at(-1);
    const accuracy = last ? `${(100 * last.testAccuracy).toFixed(2)}%` : 'not trained';
    const speed = last ? `${Math.round(last.samplesPerS)} samples/s` : '';
    return `  ${r.folder.padEnd(24)} ${r.config.dataset.padEnd(8)} ${describeRun(r).padEnd(30)} ${accuracy.padStart(11)}  ${speed}`;
  });
  return [
    `  ${'run'.padEnd(24)} ${'dataset'.padEnd(8)} ${'varied'.padEnd(30)} ${'test acc.'.padStart(11)}`,
    ...rows,
  ].join('\n');
}

export function gradeSeedExperiment(runs: readonly RunRecord[], folder: string): Grade {
  const usable = runs.filter(trained);
  const findings: Finding[] = [
    requirement(
      'a baseline (the reference CNN on MNIST)',
      usable.find((r) => r.config.dataset === 'mnist' && variedKnobs(r)?.length === 0),
      'train one with `npx shadergrad --out DIR` and no knob flags',
    ),
    ...VARIED_KNOBS.map((k) =>
      requirement(
        `${k} varied alone`,
        knobRun(usable, k),
        `train one with only ${FLAGS[k]} (for example)`,
      ),
    ),
    requirement(
      'a Fashion-MNIST run',
      usable.find((r) => r.config.dataset === 'fashion'),
      'train one with --dataset fashion',
    ),
  ];
  for (const r of runs.filter((r) => !trained(r)))
    findings.push({
      check: 'result',
      ok: false,
      message: `${r.folder}: no finished epoch in metrics.jsonl`,
    });
  const missingLayer = usable.filter((r) => !r.files.includes(FIRST_LAYER_FILE));
  findings.push(
    missingLayer.length === 0
      ? {
          check: 'bounds',
          ok: true,
          message: `every run saved its first layer (${FIRST_LAYER_FILE})`,
        }
      : {
          check: 'bounds',
          ok: false,
          message: `no ${FIRST_LAYER_FILE} (the first layer) in ${missingLayer.map((r) => r.folder).join(', ')}`,
        },
  );
  return {
    exercise: seedExperiment,
    file: folder,
    findings,
    passed: findings.every((f) => f.ok),
    reference: 'the lab',
    details: `${runs.length} run folder(s) in ${folder}:\n${resultsTable(runs)}`,
  };
}
