/**
 * The live demo's run as an explicit state machine. `transition(state, event)` is pure: it
 * returns the next state, or undefined for an event that makes no sense in the current phase
 * (a second Pause while pausing, Resume while a checkpoint loads), which the driver (main.ts)
 * then ignores. `controls(state)` says which controls are usable and what the toggle reads, so
 * the page renders from the state alone and a button can never do what its phase forbids.
 *
 *   starting --build--> building --built--> ready --train--> training --pause--> pausing
 *   pausing --settled--> paused --train--> training ...        (stopped: the worker's loop ended)
 *   ready | paused | empty --load--> loading --loaded / loadFailed--> where it came from
 *
 * Errors never lock the page: each is kept beside the control that caused it (`errors`) and
 * leaves the phase usable; only a lost device or worker (`fatal`) ends the page's work.
 */

export type Phase =
  /** The worker and its device are opening. */
  | 'starting'
  /** A network is being made: dataset, upload to the worker, compilation. */
  | 'building'
  /** No network: the last build failed; the form (or a checkpoint) can make one. */
  | 'empty'
  /** A fresh network, not trained yet. */
  | 'ready'
  | 'training'
  /** Pause asked (or the run reached its steps): the step in flight ends, the views refresh. */
  | 'pausing'
  | 'paused'
  /** A checkpoint is being read and loaded. */
  | 'loading'
  /** The GPU device or the worker is gone: nothing can run until the page is reloaded. */
  | 'lost'
  | 'no-webgpu';

/** The phases a checkpoint load starts from, and so returns to when it keeps the network. */
export type LoadOrigin = 'ready' | 'paused' | 'empty';

/** The controls an error is shown beside. */
export type Control = 'toggle' | 'evaluate' | 'save' | 'load' | 'build' | 'predict';

export interface RunState {
  readonly phase: Phase;
  /** While loading a checkpoint: the phase it started from. */
  readonly origin?: LoadOrigin;
  /** Per control, the last error it caused; cleared when the control is used again. */
  readonly errors: Readonly<Partial<Record<Control, string>>>;
  /** Why the page cannot go on (phase 'lost'). */
  readonly fatal?: string;
}

/**
 * What a checkpoint load did to the network: kept the previous one (a failure changed
 * nothing), built a fresh one for the checkpoint's architecture, or threw the old one away
 * and failed to build the new one.
 */
export type LoadedNetwork = 'kept' | 'fresh' | 'none';

export type RunEvent =
  | { type: 'noWebgpu' }
  | { type: 'build' }
  | { type: 'built' }
  | { type: 'buildFailed'; error: string }
  | { type: 'train' }
  | { type: 'pause' }
  /** The worker's training loop has returned (paused, or its steps are done). */
  | { type: 'stopped' }
  /** The views are refreshed after a stop: now it is paused. */
  | { type: 'settled' }
  /** The training loop ended with an error; the network is still there. */
  | { type: 'trainFailed'; error: string }
  | { type: 'load' }
  | { type: 'loaded'; network: Exclude<LoadedNetwork, 'none'> }
  | { type: 'loadFailed'; network: LoadedNetwork; error: string }
  /** An error of `control` that changes no phase (a save, an evaluation, a prediction). */
  | { type: 'failed'; control: Control; error: string }
  /** `control` is used again: its old error goes. */
  | { type: 'clear'; control: Control }
  | { type: 'fatal'; error: string };

export const initialRunState: RunState = { phase: 'starting', errors: {} };

/** The next state after `event`, or undefined when `event` is ignored in `s.phase`. */
export function transition(s: RunState, event: RunEvent): RunState | undefined {
  if (s.phase === 'lost' || s.phase === 'no-webgpu') return undefined;
  switch (event.type) {
    case 'noWebgpu':
      return s.phase === 'starting' ? { phase: 'no-webgpu', errors: {} } : undefined;
    case 'fatal':
      return { phase: 'lost', errors: s.errors, fatal: event.error };
    case 'failed':
      return { ...s, errors: { ...s.errors, [event.control]: event.error } };
    case 'clear':
      return { ...s, errors: without(s.errors, event.control) };
    case 'build':
    case 'built':
    case 'buildFailed':
      return buildTransition(s, event);
    case 'train':
    case 'pause':
    case 'stopped':
    case 'settled':
    case 'trainFailed':
      return trainTransition(s, event);
    case 'load':
    case 'loaded':
    case 'loadFailed':
      return loadTransition(s, event);
    default:
      return event satisfies never;
  }
}

type EventOf<T extends RunEvent['type']> = Extract<RunEvent, { type: T }>;

/** A new network throws the old run's errors away with it; training must be paused first. */
function buildTransition(
  s: RunState,
  event: EventOf<'build' | 'built' | 'buildFailed'>,
): RunState | undefined {
  const from = (...phases: Phase[]): boolean => phases.includes(s.phase);
  switch (event.type) {
    case 'build':
      return from('starting', 'ready', 'paused', 'empty')
        ? { phase: 'building', errors: {} }
        : undefined;
    case 'built':
      return from('building') ? { phase: 'ready', errors: s.errors } : undefined;
    case 'buildFailed':
      return from('building')
        ? { phase: 'empty', errors: { ...s.errors, build: event.error } }
        : undefined;
    default:
      return event satisfies never;
  }
}

/** Train and pause; a pause or train while pausing is ignored, which is the whole point. */
function trainTransition(
  s: RunState,
  event: EventOf<'train' | 'pause' | 'stopped' | 'settled' | 'trainFailed'>,
): RunState | undefined {
  const stopping = s.phase === 'training' || s.phase === 'pausing';
  switch (event.type) {
    case 'train':
      return s.phase === 'ready' || s.phase === 'paused'
        ? { phase: 'training', errors: without(s.errors, 'toggle') }
        : undefined;
    case 'pause':
      return s.phase === 'training' ? { phase: 'pausing', errors: s.errors } : undefined;
    case 'stopped':
      return stopping ? { phase: 'pausing', errors: s.errors } : undefined;
    case 'settled':
      return s.phase === 'pausing' ? { phase: 'paused', errors: s.errors } : undefined;
    case 'trainFailed':
      return stopping
        ? { phase: 'paused', errors: { ...s.errors, toggle: event.error } }
        : undefined;
    default:
      return event satisfies never;
  }
}

/** A checkpoint loads only while nothing trains; a failure keeps whatever network there is. */
function loadTransition(
  s: RunState,
  event: EventOf<'load' | 'loaded' | 'loadFailed'>,
): RunState | undefined {
  if (event.type === 'load') {
    if (s.phase !== 'ready' && s.phase !== 'paused' && s.phase !== 'empty') return undefined;
    return { phase: 'loading', origin: s.phase, errors: without(s.errors, 'load') };
  }
  if (s.phase !== 'loading' || !s.origin) return undefined;
  const phase = afterLoad(s.origin, event.network);
  const errors = event.type === 'loadFailed' ? { ...s.errors, load: event.error } : s.errors;
  return { phase, errors };
}

/** Where a load ends: where it began, unless it replaced the network (fresh) or lost it. */
function afterLoad(origin: LoadOrigin, network: LoadedNetwork): Phase {
  if (network === 'fresh') return 'ready';
  if (network === 'none') return 'empty';
  return origin;
}

function without(errors: RunState['errors'], control: Control): Partial<Record<Control, string>> {
  const rest = { ...errors };
  delete rest[control];
  return rest;
}

/** What each control offers in a state. */
export interface Controls {
  toggle: { enabled: boolean; label: string };
  evaluate: boolean;
  save: boolean;
  load: boolean;
  /** The form's "New network" button; while training it pauses first. */
  build: boolean;
  /** "Next test image" (the drawing pad predicts whenever there is a network). */
  predict: boolean;
}

/** The toggle's label: what a click does, or what the page is busy with. */
function toggleLabel(s: RunState): string {
  if (s.phase === 'training') return 'Pause';
  if (s.phase === 'pausing') return 'Pausing...';
  return s.phase === 'paused' || s.origin === 'paused' ? 'Resume' : 'Train';
}

export function controls(s: RunState): Controls {
  const is = (...phases: Phase[]): boolean => phases.includes(s.phase);
  return {
    toggle: { enabled: is('ready', 'training', 'paused'), label: toggleLabel(s) },
    evaluate: is('ready', 'training', 'paused'),
    save: is('ready', 'training', 'paused'),
    load: is('ready', 'paused', 'empty'),
    build: is('ready', 'training', 'paused', 'empty'),
    predict: is('ready', 'training', 'pausing', 'paused'),
  };
}

/**
 * The coarse status the page publishes in `window.shadergradDemo` (end-to-end tests wait on it):
 * pausing still counts as training until the worker has stopped, and both a page without a
 * network and a lost device count as an error.
 */
export type DemoStatus =
  'starting' | 'loading' | 'ready' | 'training' | 'paused' | 'error' | 'no-webgpu';

const STATUS: { [P in Phase]: DemoStatus } = {
  starting: 'starting',
  building: 'loading',
  empty: 'error',
  ready: 'ready',
  training: 'training',
  pausing: 'training',
  paused: 'paused',
  loading: 'loading',
  lost: 'error',
  'no-webgpu': 'no-webgpu',
};

export function statusOf(phase: Phase): DemoStatus {
  return STATUS[phase];
}
