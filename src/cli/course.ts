/**
 * The course's commands: `shadergrad exercises` lists the exercises, `shadergrad exercise ID`
 * copies one's starter and question into the current folder, and `shadergrad check ID [FILE]`
 * grades the student's kernel (src/course/grade.ts) and exits 0 when every check passes, 1 when
 * one fails. The starters and questions ship in the package's course/ folder.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join, resolve } from 'node:path';
import { ShadergradError } from '../base/errors';
import { initDevice } from '../core';
import { exerciseFolder, exercises, findExercise } from '../course/exercises/index';
import type { Exercise } from '../course/exercise';
import { gradeKernel } from '../course/grade';
import { formatGrade } from '../course/report';

/** The package's course/ folder: src/cli and lib/cli both sit two folders below the root. */
const COURSE = fileURLToPath(new URL('../../course/', import.meta.url));

export const COURSE_COMMANDS = ['exercises', 'exercise', 'check'] as const;
export type CourseCommand = (typeof COURSE_COMMANDS)[number];

export function courseCommand(
  argv: readonly string[],
): { command: CourseCommand; rest: string[] } | undefined {
  const [first, ...rest] = argv;
  const command = COURSE_COMMANDS.find((c) => c === first);
  return command ? { command, rest } : undefined;
}

export function courseUsage(): string {
  return [
    'shadergrad exercises            list the course exercises',
    "shadergrad exercise ID [--dir D] copy exercise ID's starter (ID.wgsl) and question (ID.md) into D (default: here)",
    'shadergrad check ID [FILE]       grade FILE (default ID.wgsl): compile, bindings, results against the',
    '                                 CPU twin on awkward shapes, out-of-bounds writes, races, and speed',
    "                                 against the library's kernel; exit 0 on pass, 1 on fail",
    '  --no-speed                     skip the timing',
  ].join('\n');
}

function exerciseOrThrow(id: string | undefined, command: string): Exercise {
  const list = exercises.map((e) => e.id).join(', ');
  if (id === undefined || id.startsWith('-'))
    throw new ShadergradError(`${command} needs an exercise name: one of ${list}`);
  const exercise = findExercise(id);
  if (!exercise)
    throw new ShadergradError(`${command}: no exercise named "${id}"; the exercises are ${list}`);
  return exercise;
}

function listExercises(): void {
  exercises.forEach((e, i) =>
    console.log(`${String(i + 1).padStart(2)}. ${e.id.padEnd(22)} ${e.title}`),
  );
  console.log('\nStart one with `shadergrad exercise ID`, grade it with `shadergrad check ID`.');
}

/** Copies the starter and the question; refuses to overwrite a student's work. */
async function startExercise(rest: readonly string[]): Promise<void> {
  const exercise = exerciseOrThrow(rest[0], 'exercise');
  const dirAt = rest.indexOf('--dir');
  const dir = resolve(dirAt >= 0 ? (rest[dirAt + 1] ?? '.') : '.');
  const folder = join(COURSE, exerciseFolder(exercise));
  const copies = [
    { from: join(folder, 'starter.wgsl'), to: join(dir, `${exercise.id}.wgsl`) },
    { from: join(folder, 'README.md'), to: join(dir, `${exercise.id}.md`) },
  ];
  for (const { to } of copies)
    if (existsSync(to))
      throw new ShadergradError(
        `${to} exists; not overwriting your work (move it, or check it with \`shadergrad check ${exercise.id}\`)`,
      );
  for (const { from, to } of copies) await writeFile(to, await readFile(from));
  console.log(`Exercise ${exercise.id}: ${exercise.title}`);
  console.log(`  the question: ${copies[1]?.to ?? ''}`);
  console.log(`  your kernel:  ${copies[0]?.to ?? ''}`);
  console.log(`Grade it with: npx shadergrad check ${exercise.id}`);
}

async function checkExercise(rest: readonly string[]): Promise<number> {
  const exercise = exerciseOrThrow(rest[0], 'check');
  const file = rest.slice(1).find((a) => !a.startsWith('--')) ?? `${exercise.id}.wgsl`;
  if (!existsSync(file))
    throw new ShadergradError(
      `check ${exercise.id}: ${file} not found (start the exercise with \`shadergrad exercise ${exercise.id}\`)`,
    );
  const code = await readFile(file, 'utf8');
  const gpu = await initDevice();
  try {
    const grade = await gradeKernel(gpu, exercise, file, code, {
      skipSpeed: rest.includes('--no-speed'),
    });
    console.log(formatGrade(grade));
    return grade.passed ? 0 : 1;
  } finally {
    gpu.destroy();
  }
}

/** Runs a course command; resolves to the exit status. */
export async function runCourseCommand(
  command: CourseCommand,
  rest: readonly string[],
): Promise<number> {
  if (rest.includes('--help') || rest.includes('-h')) {
    console.log(courseUsage());
    return 0;
  }
  if (command === 'exercises') listExercises();
  else if (command === 'exercise') await startExercise(rest);
  else return checkExercise(rest);
  return 0;
}
