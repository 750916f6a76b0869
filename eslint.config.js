// ESLint flat config: type-checked rules, no floating promises (WebGPU is async), no import
// cycles, and the module boundaries of STYLE.md 2.5.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import importX from 'eslint-plugin-import-x';

// Later entries override earlier ones for the same rule, so the narrower globs come last.
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
  // Kernel wrappers see the engine's device, pipelines, buffers and tensors, never the graph.
  boundary(
    ['src/kernels/*.ts'],
    [
      {
        regex: '(^|/)(engine/(graph|autodiff|executor|planner)|models/)',
        message: 'Kernels sit below the graph.',
      },
    ],
  ),
  // CPU twins are the spec: pure loops, runnable anywhere; of the engine only its error classes.
  boundary(
    ['src/kernels/*.cpu.ts'],
    [
      {
        regex: '(^|/)engine/(?!errors$)',
        message: 'CPU twins import only pure helpers (and engine/errors).',
      },
      { regex: '^webgpu$|\\.wgsl', message: 'CPU twins import no WebGPU and no shaders.' },
    ],
  ),
  // Models and demos use the public API only (models: src/core.ts, since src/index.ts re-exports them).
  boundary(
    ['src/models/**/*.ts', 'demo/**/*.ts'],
    [{ regex: '(^|/)(engine|kernels)/', message: 'Use src/core.ts or src/index.ts.' }],
  ),
);
