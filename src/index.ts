/**
 * shadergrad's public API for embedders (Node and the browser): the engine core (src/core.ts)
 * plus models, datasets and checkpoints. Named exports only, no side effects at import: nothing
 * touches WebGPU until `initDevice()` is called. Node-only helpers (file loading) live in
 * src/node.ts so browser bundles never see node: modules.
 */
export * from './core';
export * from './models/config';
export * from './models/network';
export { parseTrainConfig } from './models/configJson';
