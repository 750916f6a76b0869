/**
 * The course's exercises, in the order students take them. Exercise n's starter, question and
 * reference solution live in course/<nn>-<id>/ (starter.wgsl, README.md, solution.wgsl).
 */
import type { Exercise } from '../exercise';
import { adam } from './adam';
import { im2col } from './im2col';
import { matmulNaive, matmulTiled } from './matmul';
import { maxPoolBackward } from './maxPoolBackward';
import { relu } from './relu';
import { softmaxCrossEntropy } from './softmaxCrossEntropy';
import { sum } from './sum';

export const exercises: readonly Exercise[] = [
  relu,
  sum,
  matmulNaive,
  matmulTiled,
  im2col,
  maxPoolBackward,
  softmaxCrossEntropy,
  adam,
];

/** course/<nn>-<id>: the folder of an exercise's files. */
export function exerciseFolder(exercise: Exercise): string {
  const n = exercises.indexOf(exercise) + 1;
  return `${String(n).padStart(2, '0')}-${exercise.id}`;
}
