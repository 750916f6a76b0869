/**
 * shadergrad's Node-only entry, `shadergrad/node`: dataset files from disk and atomic checkpoint
 * writes. Kept apart from src/index.ts so browser bundles never see node: modules.
 */
export { loadMnist, loadFashionMnist, loadIdxDir, idxFileNames } from './data/datasetsNode';
export {
  writeFileAtomic,
  readSafetensorsFile,
  writeSafetensorsFile,
} from './formats/safetensorsNode';
