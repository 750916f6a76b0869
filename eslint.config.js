// ESLint flat config: type-checked rules, no floating promises (WebGPU is async), no import
// cycles, and the module boundaries of STYLE.md 2.5.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import importX from 'eslint-plugin-import-x';

const boundary = (files, patterns) => ({
  files,
  rules: { 'no-restricted-imports': ['error', { patterns }] },
});

export default tseslint.config(
  { ignores: ['node_modules/**', 'dist/**', 'out/**', 'runs/**', 'eslint.config.js'] },
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
  // CPU twins are the spec: pure loops, runnable anywhere, no engine and no WebGPU.
  boundary(['src/kernels/*.cpu.ts'], [
    { group: ['**/engine/**', 'webgpu', '*.wgsl*'], message: 'CPU twins import only pure helpers.' },
  ]),
  // Kernel wrappers see the engine's device, pipelines, buffers and tensors, never the graph.
  boundary(['src/kernels/*.ts'], [
    { group: ['**/engine/graph*', '**/engine/autodiff*', '**/models/**'], message: 'Kernels sit below the graph.' },
  ]),
  // Models and demos use the public API only.
  boundary(['src/models/**/*.ts', 'demo/**/*.ts'], [
    { group: ['**/engine/**', '**/kernels/**'], message: 'Use src/index.ts.' },
  ]),
);
