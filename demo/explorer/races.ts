/**
 * The race detector in the page: for the calls of a small case whose entry points use workgroup
 * memory (the registry's `workgroupMemory`), read their buffers back after the case's setup and
 * hand them to the detector (./raceCheck), with the source the run compiled, edited or not. The
 * interpreter is far slower than the GPU, hence the small case, and the worker (`inWorker`).
 */
import { type Gpu } from '../../src/index';
import { kernelFamilies, readTensor, runCalls, type KernelCall } from '../../src/kernelApi';
import { type KernelCase } from '../../bench/cases';
import { type RaceFinding, type RaceInput } from './raceCheck';

export type Detect = (input: RaceInput) => Promise<RaceFinding>;

/** Whether the call's entry point uses workgroup memory and barriers. */
export function usesWorkgroupMemory(call: KernelCall): boolean {
  const family = kernelFamilies.find((f) => f.shader.name === call.shader.name);
  return family?.workgroupMemory?.includes(call.entryPoint) ?? false;
}

async function raceInput(gpu: Gpu, call: KernelCall): Promise<RaceInput> {
  const hosts = await Promise.all(call.tensors.map((t) => readTensor(gpu, t)));
  return {
    label: call.label,
    shader: call.shader,
    entryPoint: call.entryPoint,
    constants: { ...call.constants },
    buffers: hosts.map((h) => new Uint8Array(h.buffer, h.byteOffset, h.byteLength).slice().buffer),
    params: call.params?.slice(0),
  };
}

/** Runs the case's setup on the GPU (its outputs are the calls' inputs), then the detector. */
export async function findRaces(gpu: Gpu, c: KernelCase, detect: Detect): Promise<RaceFinding[]> {
  const checked = c.calls.filter(usesWorkgroupMemory);
  if (checked.length === 0) return [];
  if (c.setup.length > 0) await runCalls(gpu, c.setup);
  const findings: RaceFinding[] = [];
  for (const call of checked) findings.push(await detect(await raceInput(gpu, call)));
  return findings;
}

/** A detector in a worker of its own, one call at a time; a crash becomes the call's error. */
export function inWorker(makeWorker: () => Worker): Detect {
  return (input) =>
    new Promise((resolve) => {
      const worker = makeWorker();
      const done = (finding: RaceFinding): void => {
        worker.terminate();
        resolve(finding);
      };
      worker.onmessage = (e: MessageEvent<RaceFinding>) => done(e.data);
      worker.onerror = (e) =>
        done({ call: input.label, races: [], raceCount: 0, errors: [e.message] });
      worker.postMessage(input, [...input.buffers, ...(input.params ? [input.params] : [])]);
    });
}
