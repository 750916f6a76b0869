// ESLint flat config: type-checked rules, no floating promises (WebGPU is async), no import
// cycles, and the module boundaries of STYLE.md 2.5.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import importX from 'eslint-plugin-import-x';

// Later entries override earlier ones for the same rule, so the narrower globs come last.
const engine = ['gpu', 'kernels', 'graph', 'train'];
const top = ['models', 'cli', 'formats', 'data', 'worker', 'course'];
/** A specifier that reaches into one of these src folders from another folder. */
const above = (...folders) => `(^|/)\\.\\./(\\.\\./)*(src/)?(${folders.join('|')})(/|$)`;
/** A kernels module other than the barrel. */
const throughBarrel = '(^|/)kernels/(?!index$)';
const noShaders = { regex: '\\.wgsl', message: 'Only src/kernels imports shaders.' };
const boundary = (files, patterns) => ({
  files,
  rules: { 'no-restricted-imports': ['error', { patterns }] },
});

export default tseslint.config(
  {
    ignores: [
      'node_modules/**',
      'dist/**',
      'lib/**',
      'out/**',
      'runs/**',
      'eslint.config.js',
      // Plain-JavaScript consumer apps, run by tests/consumers against the packed package.
      'tests/consumers/projects/**/*.{js,mjs}',
      // The course's JavaScript lab files, plain JS a student edits; tests/course runs them.
      'course/**/*.mjs',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    plugins: { 'import-x': importX },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
      'import-x/no-cycle': 'error',
      'import-x/first': 'error',
    },
  },
  // The layers, bottom up: base -> gpu -> kernels -> graph -> train; formats and data sit on
  // base; models, cli and the pages sit on the public API (src/core.ts, src/index.ts). One rule
  // per folder, written as patterns, so a new file obeys its folder's rule by default. Only
  // kernel wrappers import shaders.
  boundary(['src/base/**/*.ts'], [{ regex: '^\\.\\./', message: 'src/base imports nothing.' }]),
  boundary(
    ['src/gpu/**/*.ts'],
    [
      {
        regex: above('kernels', 'graph', 'train', ...top),
        message: 'The runtime sits below kernels.',
      },
      noShaders,
    ],
  ),
  boundary(
    ['src/kernels/**/*.ts'],
    [{ regex: above('graph', 'train', ...top), message: 'Kernels sit below the graph.' }],
  ),
  // CPU twins are the spec: pure loops, runnable anywhere; of the layers below only base.
  boundary(
    ['src/kernels/**/*.cpu.ts'],
    [
      {
        regex: above('gpu', 'graph', 'train', ...top),
        message: 'CPU twins import only pure helpers.',
      },
      { regex: '^webgpu$|\\.wgsl', message: 'CPU twins import no WebGPU and no shaders.' },
    ],
  ),
  boundary(
    ['src/graph/**/*.ts'],
    [
      { regex: above('train', ...top), message: 'The graph sits below training.' },
      { regex: throughBarrel, message: 'Reach the kernels through src/kernels/index.ts.' },
      noShaders,
    ],
  ),
  boundary(
    ['src/train/**/*.ts'],
    [
      { regex: above(...top), message: 'Training sits below models, formats and the CLI.' },
      { regex: throughBarrel, message: 'Reach the kernels through src/kernels/index.ts.' },
      noShaders,
    ],
  ),
  boundary(
    ['src/formats/**/*.ts', 'src/data/**/*.ts'],
    [
      { regex: above(...engine, ...top), message: 'Formats and data import only src/base.' },
      noShaders,
    ],
  ),
  // Training in a worker sits on the public API like the models (src/core.ts, src/models,
  // formats, data); the CLI is not its business.
  boundary(
    ['src/worker/**/*.ts'],
    [
      { regex: above(...engine, 'cli'), message: 'src/worker uses src/core.ts and src/models.' },
      noShaders,
    ],
  ),
  // The course's autograder runs students' kernels through the runtime and compares them with
  // the kernels' twins, the graph's reference executor and the models' configs: it sits just
  // below the CLI.
  boundary(
    ['src/course/**/*.ts'],
    [
      {
        regex: above('cli', 'worker'),
        message: 'The course sits below the CLI.',
      },
      { regex: throughBarrel, message: 'Reach the kernels through src/kernels/index.ts.' },
      noShaders,
    ],
  ),
  // Models, the CLI and the pages use the public API only.
  boundary(
    ['src/models/**/*.ts', 'src/cli/**/*.ts', 'demo/**/*.ts'],
    [{ regex: above(...engine), message: 'Use src/core.ts or src/index.ts.' }, noShaders],
  ),
);
