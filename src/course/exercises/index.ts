/**
 * The course's exercises, in the order students take them. Exercise n's starter, question and
 * reference solution live in course/<nn>-<id>/ (starter.wgsl, README.md, solution.wgsl).
 */
import type { Exercise } from '../exercise';
import { matmulNaive, matmulTiled } from './matmul';
import { relu } from './relu';
import { sum } from './sum';

export const exercises: readonly Exercise[] = [relu, sum, matmulNaive, matmulTiled];

/** course/<nn>-<id>: the folder of an exercise's files. */
export function exerciseFolder(exercise: Exercise): string {
  const n = exercises.indexOf(exercise) + 1;
  return `${String(n).padStart(2, '0')}-${exercise.id}`;
}

export function findExercise(id: string): Exercise | undefined {
  return exercises.find((e) => e.id === id);
}
