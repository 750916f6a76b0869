/**
 * The demo's run state machine (demo/runState.ts): every phase against every event, the
 * issue's two reports (a second Pause while pausing; a bad checkpoint that locked the page),
 * errors kept beside their control, and what each control offers in each phase.
 */
import { describe, expect, it } from 'vitest';
import {
  controls,
  initialRunState,
  statusOf,
  transition,
  type Phase,
  type RunEvent,
  type RunState,
} from '../../demo/runState';

const at = (phase: Phase, extra: Partial<RunState> = {}): RunState => ({
  phase,
  errors: {},
  ...extra,
});

/** Applies `events` in order; fails the test on one the machine ignores. */
function run(s: RunState, ...events: RunEvent[]): RunState {
  return events.reduce((state, e) => {
    const next = transition(state, e);
    if (!next) throw new Error(`${e.type} ignored in ${state.phase}`);
    return next;
  }, s);
}

const EVENTS: Record<string, RunEvent> = {
  noWebgpu: { type: 'noWebgpu' },
  build: { type: 'build' },
  built: { type: 'built' },
  buildFailed: { type: 'buildFailed', error: 'e' },
  train: { type: 'train' },
  pause: { type: 'pause' },
  stopped: { type: 'stopped' },
  settled: { type: 'settled' },
  trainFailed: { type: 'trainFailed', error: 'e' },
  load: { type: 'load' },
  loaded: { type: 'loaded', network: 'kept' },
  loadFailed: { type: 'loadFailed', network: 'kept', error: 'e' },
  fatal: { type: 'fatal', error: 'e' },
  failed: { type: 'failed', control: 'save', error: 'e' },
  clear: { type: 'clear', control: 'save' },
};

/**
 * The phase after each event (columns in EVENTS' order), '-' where the event is ignored. A
 * loading state here started from 'paused', so a load that keeps the network returns there.
 */
const TABLE = `
            noWebgpu  build     built  buildFailed train    pause   stopped settled trainFailed load    loaded loadFailed fatal failed    clear
starting    no-webgpu building  -      -           -        -       -       -       -           -       -      -          lost  starting  starting
building    -         -         ready  empty       -        -       -       -       -           -       -      -          lost  building  building
empty       -         building  -      -           -        -       -       -       -           loading -      -          lost  empty     empty
ready       -         building  -      -           training -       -       -       -           loading -      -          lost  ready     ready
training    -         -         -      -           -        pausing pausing -       paused      -       -      -          lost  training  training
pausing     -         -         -      -           -        -       pausing paused  paused      -       -      -          lost  pausing   pausing
paused      -         building  -      -           training -       -       -       -           loading -      -          lost  paused    paused
loading     -         -         -      -           -        -       -       -       -           -       paused paused     lost  loading   loading
lost        -         -         -      -           -        -       -       -       -           -       -      -          -     -         -
no-webgpu   -         -         -      -           -        -       -       -       -           -       -      -          -     -         -
`;

const rows = TABLE.trim()
  .split('\n')
  .map((line) => line.trim().split(/\s+/));
const [header = [], ...body] = rows;

describe('demo run state: every phase against every event', () => {
  it('the table names every event, in order', () => {
    expect(header).toEqual(Object.keys(EVENTS));
  });

  for (const [phase = '', ...expected] of body) {
    it(`from ${phase}`, () => {
      const s = at(phase as Phase, phase === 'loading' ? { origin: 'paused' } : {});
      const got = Object.values(EVENTS).map((e) => transition(s, e)?.phase ?? '-');
      expect(got).toEqual(expected);
    });
  }

  it('starts in starting with no errors', () => {
    expect(initialRunState).toEqual({ phase: 'starting', errors: {} });
  });
});

describe('demo run state: train, pause, resume', () => {
  it('a second Pause while pausing, and a Train click, are ignored; then it resumes', () => {
    const pausing = run(at('ready'), { type: 'train' }, { type: 'pause' });
    expect(pausing.phase).toBe('pausing');
    expect(transition(pausing, { type: 'pause' })).toBeUndefined();
    expect(transition(pausing, { type: 'train' })).toBeUndefined();
    expect(controls(pausing).toggle).toEqual({ enabled: false, label: 'Pausing...' });
    const paused = run(pausing, { type: 'stopped' }, { type: 'settled' });
    expect(paused.phase).toBe('paused');
    expect(controls(paused).toggle).toEqual({ enabled: true, label: 'Resume' });
    expect(run(paused, { type: 'train' }).phase).toBe('training');
  });

  it('a run that reaches its steps pauses through pausing, whatever is clicked meanwhile', () => {
    const refreshing = run(at('training'), { type: 'stopped' });
    expect(refreshing.phase).toBe('pausing');
    expect(transition(refreshing, { type: 'pause' })).toBeUndefined();
    expect(run(refreshing, { type: 'settled' }).phase).toBe('paused');
  });

  it('a training error pauses with the error beside the toggle; training again clears it', () => {
    const failed = run(at('training'), { type: 'trainFailed', error: 'NaN loss' });
    expect(failed).toEqual({ phase: 'paused', errors: { toggle: 'NaN loss' } });
    expect(controls(failed).toggle.enabled).toBe(true);
    expect(run(failed, { type: 'train' }).errors).toEqual({});
  });
});

describe('demo run state: checkpoints', () => {
  it('a bad checkpoint returns to paused with its error beside Load, every control usable', () => {
    const loading = run(at('paused'), { type: 'load' });
    expect(loading).toEqual({ phase: 'loading', origin: 'paused', errors: {} });
    expect(controls(loading)).toMatchObject({ evaluate: false, save: false, load: false });
    const bad = run(loading, { type: 'loadFailed', network: 'kept', error: 'bad header' });
    expect(bad).toEqual({ phase: 'paused', errors: { load: 'bad header' } });
    expect(controls(bad)).toEqual({
      toggle: { enabled: true, label: 'Resume' },
      evaluate: true,
      save: true,
      load: true,
      build: true,
      predict: true,
    });
    // Loading again clears the error; a good file lands back in paused.
    const good = run(bad, { type: 'load' }, { type: 'loaded', network: 'kept' });
    expect(good).toEqual({ phase: 'paused', errors: {} });
  });

  it('a load from ready returns to ready; one that rebuilt ends ready, one that lost it empty', () => {
    const fromReady = run(at('ready'), { type: 'load' });
    expect(run(fromReady, { type: 'loaded', network: 'kept' }).phase).toBe('ready');
    const fromPaused = run(at('paused'), { type: 'load' });
    expect(run(fromPaused, { type: 'loaded', network: 'fresh' }).phase).toBe('ready');
    const failedFresh = { type: 'loadFailed', network: 'fresh', error: 'e' } as const;
    expect(run(fromPaused, failedFresh).phase).toBe('ready');
    const lost = run(fromPaused, { type: 'loadFailed', network: 'none', error: 'no' });
    expect(lost).toEqual({ phase: 'empty', errors: { load: 'no' } });
    expect(controls(lost)).toMatchObject({ load: true, build: true, save: false });
  });

  it('the load control waits for a pause; its toggle shows what the load returns to', () => {
    expect(controls(at('training')).load).toBe(false);
    expect(controls(at('pausing')).load).toBe(false);
    expect(controls(at('loading', { origin: 'paused' })).toggle.label).toBe('Resume');
    expect(controls(at('loading', { origin: 'ready' })).toggle.label).toBe('Train');
  });
});

describe('demo run state: errors and builds', () => {
  it('an error stays beside its control, in the same phase, until that control clears it', () => {
    const s = run(
      at('training'),
      { type: 'failed', control: 'save', error: 'disk full' },
      { type: 'failed', control: 'predict', error: 'no input' },
    );
    expect(s).toEqual({ phase: 'training', errors: { save: 'disk full', predict: 'no input' } });
    expect(run(s, { type: 'clear', control: 'save' }).errors).toEqual({ predict: 'no input' });
  });

  it('a failed build leaves no network but the form usable; a new build clears old errors', () => {
    const empty = run(
      at('paused', { errors: { save: 'x' } }),
      { type: 'build' },
      {
        type: 'buildFailed',
        error: 'bad features',
      },
    );
    expect(empty).toEqual({ phase: 'empty', errors: { build: 'bad features' } });
    expect(controls(empty)).toMatchObject({ build: true, load: true, save: false });
    expect(controls(empty).toggle.enabled).toBe(false);
    expect(run(empty, { type: 'build' })).toEqual({ phase: 'building', errors: {} });
  });

  it('"New network" is offered while training (main.ts pauses first), not while pausing', () => {
    expect(controls(at('training')).build).toBe(true);
    expect(controls(at('pausing')).build).toBe(false);
    expect(controls(at('building')).build).toBe(false);
  });

  it('a lost device disables everything and ignores every event after it', () => {
    const lost = run(at('training'), { type: 'fatal', error: 'device lost' });
    expect(lost.fatal).toBe('device lost');
    const c = controls(lost);
    expect([c.toggle.enabled, c.evaluate, c.save, c.load, c.build, c.predict]).toEqual(
      Array(6).fill(false),
    );
    for (const e of Object.values(EVENTS)) expect(transition(lost, e)).toBeUndefined();
  });

  it('publishes the coarse status the end-to-end tests wait on', () => {
    expect(statusOf('pausing')).toBe('training');
    expect(statusOf('building')).toBe('loading');
    expect(statusOf('empty')).toBe('error');
    expect(statusOf('lost')).toBe('error');
    expect(statusOf('paused')).toBe('paused');
  });
});
