#!/usr/bin/env node
/**
 * The command line: `npm start -- [flags]` trains (default: the reference CNN on MNIST, one
 * epoch; see train.ts), `--eval CHECKPOINT` tests a saved model; `gpt` and `sample` train and
 * sample a character-level GPT (gpt.ts); `exercises`, `exercise` and `check` run the course
 * (course.ts). Bad flags or files, a model too
 * big for memory or a device lost more often than the run recovers from exit 1 with one line
 * that names the flag, file or tensor; `SHADERGRAD_DEBUG=1` shows stack traces.
 */
import { initDevice } from '../core';
import { datasetToGpu } from '../models/fit';
import { loadPredictor } from '../models/predictor';
import { parseArgs, usage } from './args';
import { configOf, loadSplit, pct, readBytes } from './common';
import { courseCommand, runCourseCommand } from './course';
import { errorLine } from './files';
import { gptUsage, languageCommand, sampleGpt, trainGpt } from './gpt';
import { train } from './train';

async function evaluateCheckpoint(
  cmd: Extract<ReturnType<typeof parseArgs>, { kind: 'eval' }>,
): Promise<void> {
  const bytes = await readBytes(cmd.checkpoint, '--eval');
  const config = configOf(bytes, cmd.checkpoint);
  const gpu = await initDevice({ log: (l) => console.log(l) });
  try {
    // Weights only: evaluating needs no gradients, optimizer state or training plan.
    const predictor = loadPredictor(gpu, bytes, { config, source: cmd.checkpoint });
    const dataset = cmd.dataDir ? config.dataset : cmd.dataset;
    const split = await loadSplit(dataset, cmd.dataDir, cmd.testLimit);
    const test = await predictor.evaluate(datasetToGpu(gpu, split.test));
    console.log(
      `${cmd.checkpoint}: test accuracy ${pct(test.accuracy)} (${split.test.count} images), test loss ${test.loss.toFixed(4)}`,
    );
    predictor.destroy();
  } finally {
    gpu.destroy();
  }
}

/** Runs the command; resolves to the exit status. */
async function main(argv: readonly string[]): Promise<number> {
  const args = argv[0] === '--' ? argv.slice(1) : argv;
  const course = courseCommand(args);
  if (course) return runCourseCommand(course.command, course.rest);
  const language = languageCommand(args);
  if (language) {
    const { command, rest } = language;
    if (rest.includes('--help') || rest.includes('-h')) console.log(gptUsage(command));
    else if (command === 'gpt') await trainGpt(rest);
    else await sampleGpt(rest);
    return 0;
  }
  const cmd = parseArgs(argv);
  if (cmd.kind === 'help') console.log(usage());
  else if (cmd.kind === 'eval') await evaluateCheckpoint(cmd);
  else return train(cmd);
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e: unknown) => {
    const line = errorLine(e);
    if (line !== undefined && process.env.SHADERGRAD_DEBUG === undefined)
      console.error(`shadergrad: ${line}`);
    else console.error(e);
    process.exit(1);
  },
);
