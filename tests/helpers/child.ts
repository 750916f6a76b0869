/**
 * Child processes for reliability tests: the CLI (or a fixture) through vite-node, optionally
 * under `ulimit -v`, in its own process group so SIGKILL reaches the whole tree.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';

const VITE_NODE = join(process.cwd(), 'node_modules', '.bin', 'vite-node');

export interface Finished {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface Child {
  process: ChildProcess;
  /** Everything printed so far. */
  output(): { stdout: string; stderr: string };
  finished: Promise<Finished>;
  /** SIGKILL to the whole process group. */
  kill(): void;
}

export interface ChildOptions {
  env?: Record<string, string>;
  /** `ulimit -v` in kB, applied by bash before it execs node. */
  ulimitKb?: number;
  timeoutMs?: number;
}

const quote = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;

/** Runs `script` (a .ts file) with vite-node and these arguments. */
export function startScript(script: string, args: string[], options: ChildOptions = {}): Child {
  const argv = [VITE_NODE, script, '--', ...args];
  const env = { ...process.env, ...options.env };
  const child =
    options.ulimitKb === undefined
      ? spawn(process.execPath, argv, { env, detached: true })
      : spawn(
          'bash',
          [
            '-c',
            `ulimit -v ${options.ulimitKb} && exec ${[process.execPath, ...argv].map(quote).join(' ')}`,
          ],
          { env, detached: true },
        );
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const kill = (): void => {
    if (child.pid !== undefined && child.exitCode === null && child.signalCode === null)
      process.kill(-child.pid, 'SIGKILL');
  };
  const timer = setTimeout(kill, options.timeoutMs ?? 120_000);
  const finished = new Promise<Finished>((resolve) =>
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    }),
  );
  return { process: child, output: () => ({ stdout, stderr }), finished, kill };
}

/** The CLI, `npm start -- args`. */
export function startCli(args: string[], options: ChildOptions = {}): Child {
  return startScript('src/cli/main.ts', args, options);
}

/** Address space (kB) a vite-node process holds before it does anything. */
export async function viteNodeBaseKb(): Promise<number> {
  const r = await startScript('tests/fixtures/vmSize.ts', []).finished;
  const kb = Number(/VmSize (\d+)/.exec(r.stdout)?.[1]);
  if (!Number.isFinite(kb)) throw new Error(`no VmSize from the probe: ${r.stdout}${r.stderr}`);
  return kb;
}
